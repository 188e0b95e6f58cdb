#!/usr/bin/env python
"""Give the built-in model its int8 network, measured: `imgcls/models/default/model.int8.onnx`, its head and "none of these"
statistics (`ood.int8.npz`), and its figures in `model.json`.

    python tools/int8.py [--photos ../shared/datasets/photos] [--food ../shared/datasets/food]

1. Quantizes the built-in model's network (`imgcls.app.quantize_bundle`), calibrated on 64 food photos.
2. Fits the int8 network's own head on its features, as `imgcls train` fitted the float32 one: the same training photos
   (the four categories less `imgcls train`'s validation split), the same negatives (the shared `other` photos and
   `imgcls.data.synthetic_negatives`, as `tools/negatives.py` makes the shipped banks) through the int8 network.
3. Measures fp32 and int8 on the grouped folds of both tasks (`benchmarks/app_load.py`'s `int8_grouped`), and makes int8
   the network served by default only if on both tasks its accuracy, end to end and negatives rejected are within 0.5
   points of fp32's. The float32 network, head and statistics are not changed.
"""
import argparse, json, sys, tempfile
from pathlib import Path
import numpy as np

def main():
    here = Path(__file__).resolve().parent.parent
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--photos', default=str(here.parent/'shared'/'datasets'/'photos'))
    p.add_argument('--food', default=str(here.parent/'shared'/'datasets'/'food'))
    a = p.parse_args()
    sys.path[:0] = [str(here/'benchmarks')]
    from app_load import calibration_photos, int8_grouped, within, _feats
    from imgcls.app import quantize_bundle
    from imgcls.bundle import default_bundle, read_bundle
    from imgcls.infer import Classifier
    from imgcls.data import dataloaders, image_files, synthetic_negatives
    from imgcls.head import fit_head
    photos,cal = Path(a.photos),calibration_photos(a.food)
    meta = read_bundle(default_bundle())
    with tempfile.TemporaryDirectory() as d:
        q = quantize_bundle(default_bundle(), Path(d)/'int8', cal, default=False)
        c8 = Classifier(q, precision='int8')
        print('the int8 head: features of the training photos and the negatives ...', file=sys.stderr)
        items = dataloaders(photos, size=meta['size'], cats=meta['categories']).train_ds.items # `imgcls train`'s split
        X,y = _feats(c8, items),np.array([meta['categories'].index(Path(f).parent.name) for f in items])
        N = np.r_[_feats(c8, list(image_files(photos, ['other']))), c8.features(synthetic_negatives())]
        params,arrays,_ = fit_head(X, y, len(meta['categories']), shipped=N)
        g = int8_grouped(q, photos, Path(a.food), cal)
        ok = within(g)
        figures = dict(grouped=g, calibration=f'{len(cal)} photos of the food task (not scored)', within_half_point=ok,
                       measured_by='tools/int8.py (benchmarks/app_load.py int8_grouped)')
        dest = quantize_bundle(default_bundle(), images=cal, default=ok, figures=figures, head=(params, arrays))
        same = np.allclose(Classifier(dest, precision='int8').features(cal[:8]), c8.features(cal[:8]))
    if not same: sys.exit('the int8 network written differs from the one measured: quantization is not deterministic here')
    print(json.dumps(g, indent=1))
    print(f"{dest}: int8 network added ({len(X)} training photos, {len(N)} negatives refitted its head); "
          f"within 0.5 points of fp32 on both tasks: {ok}; served by default: {read_bundle(dest)['precision']}")

if __name__ == '__main__': main()
