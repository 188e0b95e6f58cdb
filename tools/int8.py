#!/usr/bin/env python
"""Give the built-in model its int8 network, measured: `imgcls/models/default/model.int8.onnx` and its figures in `model.json`.

    python tools/int8.py [--photos ../shared/datasets/photos] [--food ../shared/datasets/food]

Quantizes the built-in model's network (`imgcls.app.quantize_bundle`: the photo's views, the first convolution and the
head stay in float32), calibrated on 64 food photos; measures fp32 and int8 on the grouped folds of both tasks
(`benchmarks/app_load.py`'s `int8_grouped`), and makes int8 the network served by default only if on both tasks its
accuracy, end to end and negatives rejected are within 0.5 points of fp32's. The float32 network, the head and the
"none of these" statistics are not changed: the int8 network is answered by them.
"""
import argparse, json, sys, tempfile
from pathlib import Path

def main():
    here = Path(__file__).resolve().parent.parent
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--photos', default=str(here.parent/'shared'/'datasets'/'photos'))
    p.add_argument('--food', default=str(here.parent/'shared'/'datasets'/'food'))
    a = p.parse_args()
    sys.path[:0] = [str(here/'benchmarks')]
    from app_load import calibration_photos, int8_grouped, within
    from imgcls.app import quantize_bundle
    from imgcls.bundle import default_bundle, read_bundle, file_sha256, replace_folder
    cal = calibration_photos(a.food)
    with tempfile.TemporaryDirectory(dir=default_bundle().parent) as d: # beside the bundle: replaced by a rename
        q = quantize_bundle(default_bundle(), Path(d)/'measured', cal)
        g = int8_grouped(q, Path(a.photos), Path(a.food), cal)
        ok = within(g)
        figures = dict(grouped=g, calibration=f'{len(cal)} photos of the food task (not scored)', within_half_point=ok,
                       measured_by='tools/int8.py (benchmarks/app_load.py int8_grouped)')
        new = quantize_bundle(default_bundle(), Path(d)/'new', cal, default=ok, figures=figures)
        if file_sha256(new/'model.int8.onnx') != file_sha256(q/'model.int8.onnx'):
            sys.exit('the int8 network made again differs from the one measured: quantization is not deterministic here')
        dest = replace_folder(new, default_bundle())
    print(json.dumps(g, indent=1))
    print(f"{dest}: int8 network added; within 0.5 points of fp32 on both tasks: {ok}; served by default: {read_bundle(dest)['precision']}")

if __name__ == '__main__': main()
