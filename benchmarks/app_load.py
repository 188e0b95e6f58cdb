#!/usr/bin/env python
"""imgcls app under load: `python app.py` answering 1 and 16 concurrent clients, `imgcls.client` from 4 threads, the int8 bundle.

    python benchmarks/app_load.py [--seconds 20] [--clients 1,16] [--client-calls 1200] [--skip-quantized] [--photos ../shared/datasets/photos]

1. Cold start: process start of `python app.py` -> first `/predict` answered over HTTP (median of 3).
2. Load: one `gradio_client.Client` per client thread (`imgcls.client.get_client`, as a Django worker thread has),
   each calling `/predict` in a loop on the built-in example photos for `--seconds`; then the same through
   `imgcls.client.classify_image` (the app's plain `POST /api/classify`); throughput, p50/p99 latency and errors per
   client count, all in one run, so that the ratios are fair on a shared machine; then gradio_client against Gradio's
   own server alone (`make_demo().launch()`, as `app.py` was before the plain endpoint), and with batching on.
3. `imgcls.client.classify_image` from 4 threads, `--client-calls` calls in all: failed calls.
4. The int8 bundle (`imgcls.app.quantize_bundle`): grouped 5-fold accuracy on the shared photos (the same folds and head
   as `benchmarks/run.py`'s grouped table) against fp32, single-image latency and batch throughput ratio, same run.
Prints markdown tables and writes them to `benchmarks/app_load.json`.
"""
import argparse, json, os, sys, time, subprocess, tempfile, threading
from pathlib import Path
import numpy as np

here = Path(__file__).resolve().parent
root = here.parent

def pcts(ts): return dict(p50_s=float(np.percentile(ts, 50)), p99_s=float(np.percentile(ts, 99))) if len(ts) else dict(p50_s=None, p99_s=None)

def start_app(env=None, cmd=('app.py',)):
    "`python app.py` (or `python *cmd`) in the repository root on a free port: the process, its URL and its start time"
    from imgcls.testing import free_port
    port = free_port()
    env = {**os.environ, 'GRADIO_SERVER_PORT': str(port), 'GRADIO_SERVER_NAME': '127.0.0.1', 'GRADIO_ANALYTICS_ENABLED': 'False', **(env or {})}
    t = time.perf_counter()
    p = subprocess.Popen([sys.executable, *cmd], cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return p,f'http://127.0.0.1:{port}/',t

def first_answer(p, url, t, img):
    "Seconds from `t` (process start) to the first `/predict` answer"
    from gradio_client import Client, handle_file
    while True:
        if p.poll() is not None: raise RuntimeError('python app.py exited')
        try: c = Client(url, verbose=False, analytics_enabled=False); break
        except Exception: time.sleep(0.02)
    c.predict(img=handle_file(img), api_name='/predict')
    s = time.perf_counter() - t
    c.close()
    return s

def cold_start(img, reps=3):
    "Median seconds from `python app.py` to the first answer, and the modules it imported before answering"
    ts = []
    for _ in range(reps):
        p,url,t = start_app()
        try: ts.append(first_answer(p, url, t, img))
        finally: p.terminate(); p.wait(10)
    return dict(cold_start_s=float(np.median(ts)), runs_s=ts)

def load(url, imgs, n_clients, seconds, warmup=2., via='gradio'):
    "`n_clients` threads calling the app for `seconds` after `warmup`: each with its own `gradio_client.Client` calling `/predict` (`via='gradio'`), or `imgcls.client.classify_image` (`via='client'`: the plain endpoint where the app has one; the photo's bytes as they are, so the client spends no CPU decoding them on this shared machine)"
    from gradio_client import handle_file
    from imgcls.client import get_client, classify_image
    datas = [Path(f).read_bytes() for f in imgs]
    lat,errs,lock = [],[],threading.Lock()
    t0 = time.perf_counter(); t_start,t_end = t0 + warmup,t0 + warmup + seconds
    def worker(i):
        c,k = get_client(url),i
        while time.perf_counter() < t_end:
            t = time.perf_counter()
            try:
                if via == 'client': classify_image(datas[k % len(datas)], url, size=None)
                else: c.predict(img=handle_file(imgs[k % len(imgs)]), api_name='/predict')
                e = None
            except Exception as ex: e = f'{type(ex).__name__}: {ex}'[:200]
            d = time.perf_counter() - t; k += 1
            if t >= t_start and t + d <= t_end:
                with lock: (errs.append(e) if e else lat.append(d))
    ths = [threading.Thread(target=worker, args=(i,)) for i in range(n_clients)]
    for th in ths: th.start()
    for th in ths: th.join()
    return dict(clients=n_clients, via=via, calls=len(lat) + len(errs), per_s=len(lat) / seconds, errors=len(errs), first_errors=sorted(set(errs))[:3], **pcts(lat))

def client_threads(url, imgs, calls, threads=4):
    "`imgcls.client.classify_image` from `threads` threads, `calls` calls in all: failures"
    from imgcls.client import classify_image
    fails,lock = [],threading.Lock()
    def worker(i):
        for k in range(calls // threads):
            try: classify_image(imgs[(i + k) % len(imgs)], url)
            except Exception as e:
                with lock: fails.append(f'{type(e).__name__}: {e}'[:200])
    t = time.perf_counter()
    ths = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for th in ths: th.start()
    for th in ths: th.join()
    return dict(threads=threads, calls=calls // threads * threads, failed=len(fails), first_failures=sorted(set(fails))[:3], s=time.perf_counter() - t)

def calibration_photos(food, n=64):
    "`n` photos taken evenly from the food task's: what the built-in model's int8 network is calibrated on (`tools/int8.py`)"
    fs = sorted(Path(food).rglob('*.jpg'))
    return fs[::max(1, len(fs) // n)][:n]

def _feats(clf, paths, bs=64): return np.concatenate([clf.features(paths[i:i+bs]) for i in range(0, len(paths), bs)])

figure_keys = ('acc', 'kept', 'acc_kept', 'e2e', 'neg_rejected', 'auroc', 'n')

def int8_grouped(bundle, photos, food, cal):
    """Grouped 5-fold figures of both tasks (`benchmarks/run.py`'s folds, heads and negatives), fp32 against int8: in each fold
    heads fitted on the fp32 features of the training folds (as the bundle's head and bank were) answer the held-out photos
    and negatives through the fp32 network (`fp32`) and through the int8 one (`int8`, as the bundle serves it); `int8, own
    head`: heads fitted on the int8 features instead (`quantize_bundle(head=)`). The food photos in `cal` (which calibrated
    the int8 network) are not scored."""
    from run import _rows, task_data, cross_validate
    from imgcls.infer import Classifier
    from imgcls.data import synthetic_negatives
    prows,frows = _rows(photos),_rows(food)
    f = {}
    for k in ('fp32', 'int8'):
        print(f'  features through {k} ...', file=sys.stderr)
        clf = Classifier(bundle, precision=k)
        f[k] = (_feats(clf, [photos/r['file'] for r in prows]), _feats(clf, [food/r['file'] for r in frows]), clf.features(synthetic_negatives()))
    cal = {Path(c).resolve() for c in cal}
    scored = {'food': np.array([(food/r['file']).resolve() not in cal for r in frows])}
    out = {}
    for task in ('photos', 'food'):
        d,d8 = [dict(task_data(task, prows, frows, P, P, F, F, syn), **({'scored': scored[task]} if task in scored else {}))
                for P,F,syn in (f['fp32'], f['int8'])]
        print(f'  {task}: grouped folds ...', file=sys.stderr)
        r = {'fp32': cross_validate(d), 'int8': cross_validate(dict(d, Xa=d8['X'], Na=d8['N'])), 'int8, own head': cross_validate(d8)}
        out[task] = {k: {m: v[m] for m in figure_keys} for k,v in r.items()}
    return out

def within(g, points=0.5):
    "Whether int8's accuracy, end to end and negatives rejected are no more than `points` below fp32's on every task of `int8_grouped`'s `g`"
    return all(100 * (v['int8'][m] - v['fp32'][m]) >= -points for v in g.values() for m in ('acc', 'e2e', 'neg_rejected'))

def speed(clf, imgs, reps=40):
    "Single-image latency (decoded image -> answer) and batch-of-16 throughput, alternating with the other bundle by the caller"
    from imgcls.core import load_image
    ims = [load_image(f) for f in imgs]
    clf.predict(ims[:1])
    ts = []
    for i in range(reps): t = time.perf_counter(); clf.predict([ims[i % len(ims)]]); ts.append(time.perf_counter() - t)
    b = [ims[i % len(ims)] for i in range(16)]
    tb = []
    for _ in range(3): t = time.perf_counter(); clf.predict(b); tb.append(time.perf_counter() - t)
    return ts,16 / min(tb)

def quantized(photos):
    "The built-in model's int8 network against its fp32 one: grouped figures of both tasks (with the shared photos), latency and throughput in alternating blocks"
    from imgcls.infer import Classifier
    from imgcls.bundle import default_bundle, network_file
    from imgcls.app import example_images, quantize_bundle
    food,bundle = photos.parent/'food',default_bundle()
    cal = calibration_photos(food) if food.is_dir() else example_images()
    if not Classifier(bundle).meta.get('int8'): # an older checkout: quantize a copy as `tools/int8.py` does
        bundle = quantize_bundle(bundle, Path(tempfile.mkdtemp(prefix='imgcls-int8-'))/'int8', cal)
    clfs = {k: Classifier(bundle, precision=k) for k in ('fp32', 'int8')}
    r = {k: dict(size_mb=(Path(c.path)/network_file(c.meta, k)).stat().st_size / 1e6, lat=[], ips=[]) for k,c in clfs.items()}
    imgs = example_images()
    for _ in range(3): # alternating blocks: both see the same machine state
        for k,c in clfs.items(): ts,ips = speed(c, imgs); r[k]['lat'] += ts; r[k]['ips'].append(ips)
    for k,v in r.items(): v['p50_s'],v['batch_ips'] = float(np.median(v.pop('lat'))),float(np.median(v.pop('ips')))
    if (photos/'manifest.csv').exists() and (food/'manifest.csv').exists():
        g = int8_grouped(bundle, photos, food, cal)
        for k in clfs: r[k]['grouped'] = {t: g[t][k] for t in g}
        r['own_head'] = {t: g[t]['int8, own head'] for t in g}
        r['within_half_point'] = within(g)
    r['calibration'] = f'{len(cal)} photos' + (' of the food task' if food.is_dir() else ' (the built-in examples)')
    return r

def tables(r):
    o = [f"imgcls app under load, {r['machine']}. Shared machine: compare the rows of one run, not runs.\n"]
    if 'cold' in r: o.append(f"Cold start, `python app.py` -> first /predict answered: {r['cold']['cold_start_s']:.2f} s (median of {len(r['cold']['runs_s'])})\n")
    o += ['| server | calls through | clients | calls | answers/s | p50 | p99 | errors |', '|---|---|---|---|---|---|---|---|']
    via = {'gradio': "gradio_client `/predict`", 'client': '`imgcls.client.classify_image`'}
    def row(server, v): o.append(f"| {server} | {via[v.get('via', 'gradio')]} | {v['clients']} | {v['calls']} | {v['per_s']:.1f} | {v['p50_s']:.3f} s | {v['p99_s']:.3f} s | {v['errors']} |")
    for v in r['load']: row('`python app.py`', v)
    for v in r.get('gradio_only', []): row("Gradio's alone (`make_demo().launch()`)", v)
    if 'batched' in r: row("Gradio's alone, batches of up to 16 (`make_demo(max_batch_size=16).launch()`)", r['batched'])
    for k in ('gradio', 'client'):
        vs = [v for v in r['load'] if v.get('via', 'gradio') == k]
        if len(vs) > 1: o.append(f"\n{via[k]}: {vs[-1]['clients']} clients / 1 client throughput: {vs[-1]['per_s'] / vs[0]['per_s']:.2f}x")
    if 'client' in r: c = r['client']; o.append(f"\n`imgcls.client.classify_image` from {c['threads']} threads: {c['failed']} failed of {c['calls']} ({c['s']:.0f} s)")
    if 'quantized' in r:
        q = r['quantized']
        o += ['', '| network | size | single image p50 | batch of 16 images/s |', '|---|---|---|---|']
        for k in ('fp32', 'int8'): v = q[k]; o.append(f"| {k} | {v['size_mb']:.1f} MB | {1000*v['p50_s']:.1f} ms | {v['batch_ips']:.0f} |")
        o.append(f"\nint8 / fp32: latency {q['int8']['p50_s'] / q['fp32']['p50_s']:.2f}x, throughput {q['int8']['batch_ips'] / q['fp32']['batch_ips']:.2f}x")
        if q['fp32'].get('grouped'):
            o += ['', f"Grouped 5-fold, heads fitted on the fp32 features of the training folds answering each network's (int8 calibrated on {q['calibration']}, not scored; 'own head': fitted on int8 features):", '',
                  '| task | network | accuracy, no rejection | kept | accuracy of kept | end to end | negatives rejected | AUROC | photos |', '|---|---|---|---|---|---|---|---|---|']
            for t in q['fp32']['grouped']:
                for k in ('fp32', 'int8', 'int8, own head'):
                    g = q['int8']['grouped'][t] if k == 'int8' else q['fp32']['grouped'][t] if k == 'fp32' else q['own_head'][t]
                    o.append(f"| {t} | {k} | {pct(g['acc'])} | {pct(g['kept'])} | {pct(g['acc_kept'])} | {pct(g['e2e'])} | {pct(g['neg_rejected'])} | {g['auroc']:.3f} | {g['n']} |")
                d = {m: 100 * (q['int8']['grouped'][t][m] - q['fp32']['grouped'][t][m]) for m in ('acc', 'e2e', 'neg_rejected')}
                o.append(f"| {t} | int8 - fp32 | {d['acc']:+.2f} points | | | {d['e2e']:+.2f} points | {d['neg_rejected']:+.2f} points | | |")
            o.append(f"\nint8 within 0.5 points of fp32 on both tasks: {q['within_half_point']}")
    return '\n'.join(o)

def pct(v): return '' if v is None else f'{100*v:.2f}%'

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seconds', type=float, default=20)
    p.add_argument('--clients', default='1,16')
    p.add_argument('--client-calls', type=int, default=1200)
    p.add_argument('--skip-quantized', action='store_true')
    p.add_argument('--skip-cold', action='store_true')
    p.add_argument('--gradio-only', action=argparse.BooleanOptionalAction, default=True, help="also gradio_client's /predict against Gradio's own server, as before the plain endpoint")
    p.add_argument('--batched', action=argparse.BooleanOptionalAction, default=True, help='also 16 clients against the app with batching on')
    p.add_argument('--photos', default=str(root.parent/'shared'/'datasets'/'photos'))
    p.add_argument('--out', default=str(here/'app_load.json'))
    a = p.parse_args()
    sys.path.insert(0, str(here))
    from run import machine
    from imgcls.app import example_images
    imgs = example_images()
    r = dict(machine=machine(), date=time.strftime('%Y-%m-%d'))
    if not a.skip_cold:
        print('cold start ...', file=sys.stderr)
        r['cold'] = cold_start(imgs[0])
    proc,url,t = start_app()
    try:
        first_answer(proc, url, t, imgs[0])
        r['load'] = []
        for via in ('gradio', 'client'):
            for n in map(int, a.clients.split(',')):
                print(f'{n} clients via {via} ...', file=sys.stderr)
                r['load'].append(load(url, imgs, n, a.seconds, via=via))
        if a.client_calls:
            print('imgcls.client from 4 threads ...', file=sys.stderr)
            r['client'] = client_threads(url, imgs, a.client_calls)
    finally: proc.terminate(); proc.wait(10)
    if a.gradio_only:
        print('the Gradio server alone (make_demo().launch(), as app.py ran before the plain endpoint) ...', file=sys.stderr)
        proc,url,t = start_app(cmd=('-c', 'from imgcls.app import make_demo; make_demo().launch()'))
        try:
            first_answer(proc, url, t, imgs[0])
            r['gradio_only'] = [load(url, imgs, n, a.seconds) for n in map(int, a.clients.split(','))]
        finally: proc.terminate(); proc.wait(10)
    if a.batched:
        print('16 clients, batches of up to 16 ...', file=sys.stderr)
        proc,url,t = start_app(cmd=('-c', 'from imgcls.app import make_demo; make_demo(max_batch_size=16).launch()'))
        try: first_answer(proc, url, t, imgs[0]); r['batched'] = load(url, imgs, max(map(int, a.clients.split(','))), a.seconds)
        finally: proc.terminate(); proc.wait(10)
    if not a.skip_quantized:
        print('int8 bundle ...', file=sys.stderr)
        r['quantized'] = quantized(Path(a.photos))
    Path(a.out).write_text(json.dumps(r, indent=1))
    print(tables(r))

if __name__ == '__main__': main()
