"""Load the REST service as an operator would, on this machine: reads while big photos are classified, and 16 clients invoking while labelled uploads retrain the function.

Starts `imgcls service` on a free local port with a fresh data directory and a trained two-label function, then:

1. six 48-megapixel JPEGs invoked at once, while another client reads `GET /functions/{id}` every 50 ms: how long the
   reads take (target: each within 1 s);
2. 16 clients, each with its own connection, invoking one photo at a time for `--seconds`, while a labeller uploads a
   labelled photo every second and the function retrains every 4 labels: errors and latency percentiles
   (target: 0 errors, p99 <= 1 s).

Prints markdown tables. Every request goes to 127.0.0.1, bounded in count and time.

    python benchmarks/service_load.py [--seconds 30] [--clients 16]
"""
import argparse, io, subprocess, sys, tempfile, threading, time
from pathlib import Path
import numpy as np, httpx
from PIL import Image
from imgcls.testing import free_port, wait_up, picture

def big_jpeg(w=8000, h=6000, seed=0)->bytes:
    "A smooth 48-megapixel photo (gradients and a shape), a few MB as JPEG"
    r = np.random.default_rng(seed)
    x,y = np.meshgrid(np.linspace(0, 1, w, dtype=np.float32), np.linspace(0, 1, h, dtype=np.float32))
    a = np.stack([x * 255, y * 255, (x * y * 255 + r.integers(0, 60))], -1).astype(np.uint8)
    a[h//3:h//2, w//3:w//2] = r.integers(0, 255, 3)
    b = io.BytesIO(); Image.fromarray(a).save(b, 'JPEG', quality=85); return b.getvalue()

def pct(ts, q): return float(np.percentile(ts, q)) if ts else float('nan')

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seconds', type=float, default=30); p.add_argument('--clients', type=int, default=16)
    a = p.parse_args()
    tmp = Path(tempfile.mkdtemp()); port = free_port(); url = f'http://127.0.0.1:{port}'
    srv = subprocess.Popen([sys.executable, '-m', 'imgcls.cli', 'service', '--data-dir', str(tmp/'data'), '--port', str(port), '--rate', '100000', '--ui', 'false'],
                           stdout=subprocess.DEVNULL, stderr=open(tmp/'service.log', 'w'))
    try:
        wait_up(f'{url}/openapi.json', timeout=120)
        f = httpx.post(f'{url}/functions', json=dict(name='shapes', labels=['circle', 'square'], retrain_every=4)).json()
        fid,h = f['id'],{'Authorization': f"Bearer {f['token']}"}
        for shape,colour in [('circle', 'red'), ('square', 'blue')]:
            httpx.post(f'{url}/functions/{fid}/samples', headers=h, data=dict(label=shape), timeout=120,
                       files=[('files', (f'{shape}{i}.jpg', picture(shape, colour, seed=i), 'image/jpeg')) for i in range(12)]).raise_for_status()
        httpx.post(f'{url}/functions/{fid}/train', headers=h, params=dict(wait=True), timeout=300).raise_for_status()

        # 1. reads while six 48-megapixel photos are invoked
        bigs = [big_jpeg(seed=i) for i in range(6)]
        inv_t,reads,stop = [],[],threading.Event()
        def invoke_big(b):
            t = time.perf_counter()
            r = httpx.post(f'{url}/functions/{fid}/invoke', headers=h, params=dict(store=False), files=[('files', ('big.jpg', b, 'image/jpeg'))], timeout=300)
            inv_t.append((time.perf_counter() - t, r.status_code))
        def read():
            with httpx.Client(base_url=url, headers=h, timeout=60) as c:
                while not stop.is_set():
                    t = time.perf_counter(); c.get(f'/functions/{fid}').raise_for_status(); reads.append(time.perf_counter() - t); time.sleep(0.05)
        rt = threading.Thread(target=read); rt.start()
        ts = [threading.Thread(target=invoke_big, args=(b,)) for b in bigs]
        t0 = time.perf_counter()
        for t in ts: t.start()
        for t in ts: t.join()
        wall = time.perf_counter() - t0
        stop.set(); rt.join()
        print(f"## Reads while six 48-megapixel JPEGs ({np.mean([len(b) for b in bigs]) / 1e6:.1f} MB each) are invoked\n")
        print("| what | n | p50 s | p99 s | max s |\n|---|---|---|---|---|")
        print(f"| GET /functions/{{id}} | {len(reads)} | {pct(reads, 50):.3f} | {pct(reads, 99):.3f} | {max(reads):.3f} |")
        print(f"| invoke, one 48-MP photo (statuses {sorted({s for _,s in inv_t})}) | {len(inv_t)} | {pct([t for t,_ in inv_t], 50):.2f} | {pct([t for t,_ in inv_t], 99):.2f} | {max(t for t,_ in inv_t):.2f} |")
        print(f"\nall six answered in {wall:.1f} s\n")

        # 2. 16 clients invoking while labelled uploads retrain the function
        lat,errs,stop = [],[],threading.Event()
        def client(i):
            pics = [picture(['circle', 'square'][j % 2], ['red', 'blue'][j % 2], seed=1000 + 50 * i + j) for j in range(50)]
            with httpx.Client(base_url=url, headers=h, timeout=60) as c:
                j = 0
                while not stop.is_set():
                    t = time.perf_counter()
                    try:
                        r = c.post(f'/functions/{fid}/invoke', files=[('files', (f'c{i}-{j}.jpg', pics[j % 50], 'image/jpeg'))])
                        if r.status_code != 200: errs.append(f'{r.status_code} {r.text[:100]}')
                    except httpx.HTTPError as e: errs.append(f'{type(e).__name__}: {e}')
                    lat.append(time.perf_counter() - t); j += 1
        uploads = []
        def labeller():
            with httpx.Client(base_url=url, headers=h, timeout=120) as c:
                k = 0
                while not stop.is_set():
                    shape = ['circle', 'square'][k % 2]
                    r = c.post(f'/functions/{fid}/samples', data=dict(label=shape), files=[('files', (f'l{k}.jpg', picture(shape, ['red', 'blue'][k % 2], seed=5000 + k), 'image/jpeg'))])
                    uploads.append(r.status_code); k += 1; stop.wait(1)
        ts = [threading.Thread(target=client, args=(i,)) for i in range(a.clients)] + [threading.Thread(target=labeller)]
        t0 = time.perf_counter()
        for t in ts: t.start()
        time.sleep(a.seconds); stop.set()
        for t in ts: t.join()
        wall = time.perf_counter() - t0
        st = httpx.get(f'{url}/functions/{fid}/training', headers=h).json()
        print(f"## {a.clients} clients invoking for {a.seconds:g} s while a labeller uploads a labelled photo a second (retraining every 4 labels)\n")
        print("| requests | errors | per second | p50 s | p95 s | p99 s | max s | labelled uploads | last training |\n|---|---|---|---|---|---|---|---|---|")
        print(f"| {len(lat)} | {len(errs)} | {len(lat) / wall:.1f} | {pct(lat, 50):.3f} | {pct(lat, 95):.3f} | {pct(lat, 99):.3f} | {max(lat):.3f} | {len(uploads)} ({sorted(set(uploads))}) | {st['state']} |")
        for e in errs[:10]: print('  error:', e)
        log = [l for l in (tmp/'service.log').read_text().splitlines() if 'Traceback' in l or 'ERROR' in l]
        print(f"\nservice log: {len(log)} error lines" + ''.join(f"\n  {l}" for l in log[:10]))
    finally: srv.terminate(); srv.wait(10)

if __name__ == '__main__': main()
