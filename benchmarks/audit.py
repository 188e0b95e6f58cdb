#!/usr/bin/env python
"""imgcls audit benchmark: precision and recall of each detector on real photos with known, injected problems, and the
accuracy cleaning gains on a grouped split.

    python benchmarks/audit.py [--photos ../shared/datasets/photos] [--seeds 0 1 2] [--out benchmarks/audit.json]

For each seed: 80 photos per headline category (320), copied into a temporary folder with `imgcls.testing.inject_noise`:
16 labels flipped (5%), 16 near-copies (2-8% cut off each side, shrunk to 70-100%, JPEG quality 50-80), plus 3 tiny,
3 blank (flat colour) and 3 banner-shaped (480x100) junk images. `imgcls.audit.audit` runs on it as `imgcls audit` would (the default
80/20 split for leaks). Then accuracy: grouped 5-fold cross-validation (whole sources or sub-types held out:
an Intel scene type, a sport, a garment type, an ImageNet synset, ...), the head's logistic regression trained on
the noisy labels, on the labels after accepting every suggestion of the audit (`suggested_decisions`, applied with
`imgcls.clean.apply_decisions`), and on the true labels; always scored against the true labels of the original
photos in the held-out fold. Prints markdown tables and writes them as JSON.

Near-duplicates among all the shared photos (`near_dups`, no network: hashes and thumbnails only): 200 of the 1,600
photos copied by each named edit of `edits`, the copies added to the 1,600, and every pair searched. `--near-only`
runs just this part.
"""
import argparse, csv, json, tempfile, time
from pathlib import Path
import numpy as np
from PIL import Image

here = Path(__file__).resolve().parent
cats = ['architecture', 'fashion', 'nature', 'sports']

def group(r): return f"{r['label']}/{r['source']}/{Path(r['source_path']).parent.name}" # a source's sub-folder: a sport, a scene type, a garment, a synset

def add_junk(dest, rng):
    "3 tiny, 3 blank, 3 banner images in random category folders: {file: kind}"
    out = {}
    for k in range(3):
        for kind,im in (('tiny', Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8))),
                        ('blank', Image.new('RGB', (300, 300), tuple(int(v) for v in rng.integers(0, 256, 3)))),
                        ('aspect', Image.fromarray(rng.integers(0, 256, (100, 480, 3), dtype=np.uint8)))):
            fn = dest/cats[int(rng.integers(4))]/f'junk_{kind}_{k}.png'; im.save(fn); out[fn] = kind
    return out

def pr(found, truth):
    tp = len(found & truth)
    return dict(flagged=len(found), true=len(truth), tp=tp, precision=tp / max(len(found), 1), recall=tp / max(len(truth), 1))

def grouped_acc(X, y_fit, keep, y_true, is_orig, groups, k=5):
    "Grouped k-fold accuracy on the original photos of each held-out fold, the head fitted on `y_fit` of the kept photos of the others"
    from imgcls.head import group_folds, fit_linear
    fold = group_folds(y_true, groups, k)
    right = []
    for j in range(k):
        tr,te = (fold != j) & keep,(fold == j) & is_orig
        W,b = fit_linear(X[tr], y_fit[tr], len(cats))
        right += list((X[te] @ W.T + b).argmax(1) == y_true[te])
    return float(np.mean(right))

edits = {'random': {}, # near_copy's defaults: 2-8% off each side, 70-100%, JPEG quality 50-80
         'crop4_scale75_q70': dict(cut=(.04, .04), scale=(.75, .75), quality=(70, 70))}

def near_dups(photos, edit, n=200, seed=0):
    "Recall and false pairs of `near_duplicates` on all the photos of `photos` plus `n` copies made by `edits[edit]`"
    from imgcls.audit import image_stats, near_duplicates
    from imgcls.testing import near_copy
    files = sorted(photos/r['file'] for r in csv.DictReader(open(photos/'manifest.csv', encoding='utf-8')))
    pick = np.random.default_rng(seed).choice(len(files), n, replace=False)
    dest = Path(tempfile.mkdtemp(prefix='imgcls-neardup-bench-'))
    copies = [near_copy(files[i], dest/f'{k}.jpg', seed=seed + k, **edits[edit]) for k,i in enumerate(pick)]
    stats = [image_stats(f) for f in files + copies]
    t = time.perf_counter()
    d = near_duplicates(stats)
    truth,found = {(int(i), len(files) + k) for k,i in enumerate(pick)},set(zip(d.i.tolist(), d.j.tolist()))
    return dict(edit=edit, photos=len(files), copies=n, found=len(found & truth), recall=len(found & truth) / n,
                false_pairs=len(found - truth), search_s=time.perf_counter() - t)

def near_table(rs):
    o = ['| edit | photos | copies | found | recall | false pairs | pair search |', '|---|---|---|---|---|---|---|']
    return '\n'.join(o + [f"| {r['edit']} | {r['photos']} | {r['copies']} | {r['found']} | {pct(r['recall'])} | "
                           f"{r['false_pairs']} | {r['search_s']:.1f} s |" for r in rs])

def run(photos, seed):
    from imgcls.audit import audit, suggested_decisions
    from imgcls.testing import inject_noise
    from imgcls.clean import apply_decisions
    from imgcls.train import features, train
    from imgcls.data import image_files
    rows = sorted((r for r in csv.DictReader(open(photos/'manifest.csv', encoding='utf-8')) if r['label'] in cats), key=lambda r: r['file'])
    rng = np.random.default_rng(seed)
    sel = [r for c in cats for r in rng.choice([r for r in rows if r['label'] == c], 80, replace=False)]
    dest = Path(tempfile.mkdtemp(prefix='imgcls-audit-bench-'))/'photos'
    inj = inject_noise([photos/r['file'] for r in sel], [r['label'] for r in sel], dest, seed=seed)
    junk = add_junk(dest, rng)
    t = time.perf_counter()
    issues = audit(dest)
    audit_s = time.perf_counter() - t
    P = lambda fs: set(map(Path, fs))
    res = dict(seed=seed, n_files=len(image_files(dest)), audit_s=audit_s, counts=issues.issue.value_counts().to_dict())
    res['label'] = pr(P(issues.file[issues.issue == 'label']), set(inj['flipped']))
    res['label']['suggested_right'] = int(sum(inj['flipped'].get(Path(f)) == s for f,s in zip(issues.file[issues.issue == 'label'], issues.suggested[issues.issue == 'label'])))
    d = issues[issues.issue.isin(['duplicate', 'leak', 'conflict'])]
    found,truth = {frozenset((Path(f), Path(s))) for f,s in zip(d.file, d.suggested)},{frozenset(p) for p in inj['copies'].items()}
    blank_pairs = {p for p in found - truth if all(junk.get(f) == 'blank' for f in p)} # flat images of any colour share one hash: duplicates of each other
    res['near-duplicate'] = dict(pr(found - blank_pairs, truth), false_pairs=len(found - truth - blank_pairs), blank_pairs=len(blank_pairs), leaks=int((d.issue == 'leak').sum()))
    for kind in ('tiny', 'blank', 'aspect'): res[kind] = pr(P(issues.file[issues.issue == kind]), {f for f,k in junk.items() if k == kind})
    # accuracy: features of every file, from the cache the audit filled
    orig = {Path(f): r for f,r in zip(inj['files'], sel)}
    copies = {c: orig[o] for c,o in inj['copies'].items()}
    files = list(orig) + list(copies) + list(junk)
    learn = train(dest, shipped=False) # only for its network; the features come from the cache
    X = features(learn, files, learn.imgcls['cache'])
    y_true = np.array([cats.index(r['label']) for r in [*orig.values(), *copies.values()]] + [0] * len(junk))
    groups = np.array([group(r) for r in [*orig.values(), *copies.values()]] + [f'junk/{i}' for i in range(len(junk))])
    y_noisy = np.array([cats.index(Path(f).parent.name) for f in files])
    is_orig = np.r_[np.ones(len(orig), bool), np.zeros(len(copies) + len(junk), bool)]
    dels,changes = suggested_decisions(issues)
    moved = {Path(e['src']): e for e in apply_decisions(dest, dels, changes)}
    rel = [f.relative_to(dest.resolve()) if f.is_absolute() else f for f in map(lambda f: Path(f).resolve(), files)]
    keep = np.array([not (r in moved and moved[r]['op'] == 'delete') for r in rel])
    y_clean = np.array([cats.index(Path(moved[r]['dst']).parent.name) if r in moved and moved[r]['op'] == 'relabel' else y for r,y in zip(rel, y_noisy)])
    res['accuracy'] = dict(noisy=grouped_acc(X, y_noisy, np.ones(len(files), bool), y_true, is_orig, groups),
                           relabel_only=grouped_acc(X, y_clean, np.ones(len(files), bool), y_true, is_orig, groups),
                           cleaned=grouped_acc(X, y_clean, keep, y_true, is_orig, groups),
                           true_labels=grouped_acc(X, y_true, is_orig, y_true, is_orig, groups),
                           deleted=int((~keep).sum()), relabelled=int((y_clean != y_noisy).sum()),
                           relabelled_right=int(((y_clean != y_noisy) & (y_clean == y_true)).sum()))
    return res

def pct(v): return f'{100 * v:.1f}%'

def tables(rs):
    o = [f"Injected per seed: 16 of 320 labels flipped, 16 near-copies, 3 tiny, 3 blank, 3 banner images ({len(rs)} seeds: {', '.join(str(r['seed']) for r in rs)}).\n",
         '| detector | seed | flagged | true | found | precision | recall | note |', '|---|---|---|---|---|---|---|---|']
    for r in rs:
        for k in ('label', 'near-duplicate', 'tiny', 'blank', 'aspect'):
            v = r[k]
            note = (f"suggested label right for {v['suggested_right']} of {v['tp']}" if k == 'label' else
                    f"{v['false_pairs']} false pairs (and {v['blank_pairs']} between the blank images), {v['leaks']} across the split" if k == 'near-duplicate' else '')
            o.append(f"| {k} | {r['seed']} | {v['flagged']} | {v['true']} | {v['tp']} | {pct(v['precision'])} | {pct(v['recall'])} | {note} |")
    o += ['', 'Grouped 5-fold accuracy on the original photos of the held-out groups (true labels), the head trained on:', '',
          '| seed | noisy labels | relabels accepted | all suggestions accepted | gain | true labels, no copies or junk | deleted | relabelled (right) | audit time |', '|---|---|---|---|---|---|---|---|---|']
    for r in rs:
        a = r['accuracy']
        o.append(f"| {r['seed']} | {pct(a['noisy'])} | {pct(a['relabel_only'])} | {pct(a['cleaned'])} | {100 * (a['cleaned'] - a['noisy']):+.1f} pt | {pct(a['true_labels'])} | {a['deleted']} | {a['relabelled']} ({a['relabelled_right']}) | {r['audit_s']:.0f} s |")
    return '\n'.join(o)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--photos', type=Path, default=here.parent.parent/'shared'/'datasets'/'photos')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--out', type=Path, default=here/'audit.json')
    p.add_argument('--near-only', action='store_true', help='only the near-duplicates among all the photos')
    a = p.parse_args()
    near = [near_dups(a.photos.resolve(), e) for e in edits]
    print(near_table(near))
    old = json.loads(a.out.read_text()) if a.out.exists() else {}
    rs = (old if isinstance(old, list) else old.get('runs', [])) if a.near_only else [run(a.photos.resolve(), s) for s in a.seeds]
    a.out.write_text(json.dumps(dict(runs=rs, near_duplicates=near), indent=1, default=str))
    if not a.near_only: print(tables(rs))
