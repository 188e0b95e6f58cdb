"""Fuzz the REST service's API against its own OpenAPI schema with Schemathesis (`--checks all`): no 5xx, no schema violations.

Starts `imgcls service` on a free local port with a fresh data directory, creates a function with a trained model
(so that the routes that need one answer), and runs `schemathesis run` with that function's id and token, bounded in
examples and time. Needs `pip install schemathesis`. Exit status: Schemathesis's (0 when every check passed).

    python benchmarks/service_fuzz.py [--max-examples 30] [--max-time 300]
"""
import argparse, os, subprocess, sys, tempfile
from pathlib import Path
import httpx
from imgcls.testing import free_port, wait_up, picture

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--max-examples', type=int, default=30, help='test cases per operation and phase')
    p.add_argument('--max-time', type=int, default=300, help='seconds for the whole run at most')
    p.add_argument('--seed', type=int, default=0)
    a = p.parse_args()
    tmp = Path(tempfile.mkdtemp())
    port = free_port(); url = f'http://127.0.0.1:{port}'
    srv = subprocess.Popen([sys.executable, '-m', 'imgcls.cli', 'service', '--data-dir', str(tmp/'data'), '--port', str(port), '--rate', '100000', '--ui', 'false'],
                           stdout=subprocess.DEVNULL, stderr=open(tmp/'service.log', 'w'))
    try:
        wait_up(f'{url}/openapi.json', timeout=120)
        f = httpx.post(f'{url}/functions', json=dict(name='shapes', labels=['circle', 'square'], retrain_every=1000)).json()
        h = {'Authorization': f"Bearer {f['token']}"}
        for shape,colour in [('circle', 'red'), ('square', 'blue')]:
            files = [('files', (f'{shape}{i}.jpg', picture(shape, colour, seed=i), 'image/jpeg')) for i in range(6)]
            httpx.post(f"{url}/functions/{f['id']}/samples", headers=h, files=files, data=dict(label=shape), timeout=120).raise_for_status()
        httpx.post(f"{url}/functions/{f['id']}/train", headers=h, params=dict(wait=True), timeout=120).raise_for_status()
        (tmp/'schemathesis.toml').write_text(f'headers = {{ Authorization = "Bearer {f["token"]}" }}\n[parameters]\n"path.fid" = {f["id"]}\n')
        cmd = ['schemathesis', '--config-file', str(tmp/'schemathesis.toml'), 'run', f'{url}/openapi.json', '--checks', 'all', '--workers', '1',
               '--max-examples', str(a.max_examples), '--max-time', str(a.max_time), '--seed', str(a.seed), '--request-timeout', '60', '--no-color']
        print('$', ' '.join(cmd[:1] + cmd[3:]), flush=True)
        rc = subprocess.run(cmd, cwd=tmp).returncode
        errors = [l for l in (tmp/'service.log').read_text().splitlines() if 'Traceback' in l or 'ERROR' in l]
        print(f"service log: {len(errors)} error lines" + ''.join(f"\n  {l}" for l in errors[:20]))
        return rc or bool(errors)
    finally: srv.terminate(); srv.wait(10)

if __name__ == '__main__': sys.exit(main())
