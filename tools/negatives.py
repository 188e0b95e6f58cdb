#!/usr/bin/env python
"""Rebuild the shipped "none of these" banks, `imgcls/models/negatives/<network>.npz`, for every candidate recipe.

    python tools/negatives.py [--photos ../shared/datasets/photos] [--recipes lite0,lite0-crop]

A bank holds features only (float16): of the shared `other` photos (their licences do not allow shipping the photos)
and of `imgcls.data.synthetic_negatives`, through each recipe's network as `imgcls train` computes them.
"""
import argparse, tempfile
from pathlib import Path
import numpy as np

def main():
    here = Path(__file__).resolve().parent.parent
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--photos', default=str(here.parent/'shared'/'datasets'/'photos'))
    p.add_argument('--recipes', help='comma-separated recipe names; default all of `imgcls.recipe.recipes`')
    a = p.parse_args()
    from imgcls.recipe import recipes
    from imgcls.train import feature_learner, features
    from imgcls.head import net_name
    from imgcls.data import synthetic_negatives, image_files, dataloaders
    photos = Path(a.photos)
    cats = ['nature', 'sports', 'architecture', 'fashion']
    with tempfile.TemporaryDirectory() as d:
        for i,im in enumerate(synthetic_negatives()): im.save(Path(d)/f'{i:03d}.png')
        items = list(image_files(photos, ['other'])) + sorted(Path(d).iterdir())
        for name in (a.recipes.split(',') if a.recipes else recipes):
            r = recipes[name]
            learn = feature_learner(dataloaders(photos, size=224, cats=cats), r['arch'], r.get('crop'))
            fn = here/'imgcls'/'models'/'negatives'/f"{net_name(r['arch'], 224, 'squish', True, r.get('crop'))}.npz"
            np.savez(fn, feats=features(learn, items, flip=True).astype(np.float16))
            print(f'{name}: {len(items)} negatives -> {fn.relative_to(here)}')

if __name__ == '__main__': main()
