#!/usr/bin/env python
"""imgcls batch: the local engine against the Ray engine, on the shared photos.

    python benchmarks/batch.py [--photos ../shared/datasets/photos] [--sizes 850,1000,5000] [--bs 32]

Each run is the command a user types, `imgcls batch DIR --out X.parquet --engine local|ray` (as `python -m imgcls.cli`),
in a fresh process, timed from its start to its exit: imports, the model, `ray.init` and `ray.shutdown` included.
The folders hold symlinks: the first N distinct photos for N up to the number there are (1,600), the same photos again
under `copyK/` beyond that (files then come from the page cache; decoding and the model are the same work).
For each size: wall time, photos/s, Ray's time over local's, and whether every file got the same label.
A straight line through the two largest sizes gives each engine's fixed cost (seconds) and rate (photos/s), and the
size from which Ray is faster. Prints markdown tables and writes them to `benchmarks/batch.json`.
"""
import argparse, json, os, sys, time, subprocess, tempfile
from pathlib import Path

here = Path(__file__).resolve().parent
root = here.parent

def photo_dir(photos:Path, n:int, dest:Path)->Path:
    "A folder of `n` symlinks to the photos, cycling through them"
    fns = sorted(p for p in photos.rglob('*.jpg'))
    d = dest/f'n{n}'
    for i in range(n):
        f = fns[i % len(fns)]
        p = d/f'copy{i // len(fns)}'/f.relative_to(photos)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.symlink_to(f.resolve())
    return d

def run(d:Path, out:Path, engine:str, bs:int)->float:
    "Seconds `imgcls batch` takes, start to exit"
    t = time.perf_counter()
    r = subprocess.run([sys.executable, '-m', 'imgcls.cli', 'batch', str(d), '--out', str(out), '--engine', engine, '--bs', str(bs)],
                       capture_output=True, text=True, env={**os.environ, 'PYTHONPATH': str(root)})
    dt = time.perf_counter() - t
    if r.returncode: sys.exit(f'imgcls batch --engine {engine} failed:\n{r.stderr[-3000:]}')
    return dt

def line(n1, t1, n2, t2):
    "Fixed seconds and photos/s of the line through (n1, t1) and (n2, t2)"
    rate = (n2 - n1) / (t2 - t1)
    return t1 - n1 / rate, rate

def split(photos:Path, n:int=200)->dict:
    "Milliseconds per photo, in one thread: reading the file, decoding it (`load_image` at the draft scale), the network and head"
    from imgcls.infer import Classifier
    from imgcls.core import load_image
    clf,fns = Classifier(threads=1),sorted(photos.rglob('*.jpg'))[:n]
    t0 = time.perf_counter(); datas = [f.read_bytes() for f in fns]
    t1 = time.perf_counter(); ims = [load_image(d, draft=4*clf.meta['size']) for d in datas]
    t2 = time.perf_counter(); [clf.predict(ims[i:i+32]) for i in range(0, len(ims), 32)]
    t3 = time.perf_counter()
    return dict(read_ms=round((t1-t0)/n*1e3, 2), decode_ms=round((t2-t1)/n*1e3, 2), model_ms=round((t3-t2)/n*1e3, 2), kb=round(sum(map(len, datas))/n/1e3, 1))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--photos', default=str(root.parent/'shared'/'datasets'/'photos'))
    ap.add_argument('--sizes', default='850,1000,5000')
    ap.add_argument('--bs', type=int, default=32)
    a = ap.parse_args()
    import pyarrow.parquet as pq
    sp = split(Path(a.photos))
    print(f"one thread, per photo: read {sp['read_ms']} ms, decode {sp['decode_ms']} ms, model {sp['model_ms']} ms (photos of {sp['kb']} kB on average)", flush=True)
    sizes,rows = [int(o) for o in a.sizes.split(',')],[]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for n in sizes:
            d = photo_dir(Path(a.photos), n, tmp)
            tl = run(d, tmp/f'local{n}.parquet', 'local', a.bs)
            tr = run(d, tmp/f'ray{n}.parquet', 'ray', a.bs)
            l,r = pq.read_table(tmp/f'local{n}.parquet'),pq.read_table(tmp/f'ray{n}.parquet')
            same = l['file'].to_pylist() == r['file'].to_pylist() and l['label'].to_pylist() == r['label'].to_pylist()
            rows.append(dict(photos=n, local_s=round(tl, 2), local_per_s=round(n / tl, 1), ray_s=round(tr, 2), ray_per_s=round(n / tr, 1),
                             ray_over_local=round(tr / tl, 3), same_labels=same, errors=len(l) - l['error'].null_count))
            print(rows[-1], flush=True)
    print(f"\n{os.cpu_count()} CPUs, batch size {a.bs}\n")
    print('| photos | local s | local photos/s | ray s | ray photos/s | ray / local | same labels |\n|---|---|---|---|---|---|---|')
    for o in rows: print(f"| {o['photos']} | {o['local_s']} | {o['local_per_s']} | {o['ray_s']} | {o['ray_per_s']} | {o['ray_over_local']} | {o['same_labels']} |")
    (n1,l1,r1),(n2,l2,r2) = [(o['photos'], o['local_s'], o['ray_s']) for o in rows[-2:]]
    fit = dict(local=line(n1, l1, n2, l2), ray=line(n1, r1, n2, r2))
    print('\n| engine | fixed s | photos/s | photos/s per CPU |\n|---|---|---|---|')
    for k,(f,r) in fit.items(): print(f"| {k} | {f:.1f} | {r:.1f} | {r / os.cpu_count():.1f} |")
    (fl,rl),(fr,rr) = fit['local'],fit['ray']
    even = (fr - fl) / (1 / rl - 1 / rr) if rr > rl else None
    print(f"\nRay is faster from {even:,.0f} photos" if even else "\nRay's rate is not above local's here: it never pays back on this machine")
    (here/'batch.json').write_text(json.dumps(dict(cpus=os.cpu_count(), bs=a.bs, per_photo_one_thread=sp, runs=rows, fit={k: dict(fixed_s=round(f, 2), per_s=round(r, 1)) for k,(f,r) in fit.items()},
                                                   ray_faster_from=round(even) if even else None), indent=1))

if __name__ == '__main__': main()
