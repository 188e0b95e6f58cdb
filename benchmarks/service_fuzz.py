"""Fuzz the REST service's API against its own OpenAPI schema with Schemathesis (`--checks all`): no 5xx, no schema violations.

Starts `imgcls service` on a free local port with a fresh data directory, creates a function with a trained model
(so that the routes that need one answer), and runs `schemathesis run` with that function's id and token, bounded in
examples and time. Needs `pip install schemathesis`. Exit status: Schemathesis's (0 when every check passed).

Two runs: one with the function's id, a sample's id and the token filled in, so that the fuzzer reaches the routes'
logic; one with ids and everything else generated, so that it also sends ids out of range (with ids filled in,
Schemathesis cannot make them invalid, and its negative-data check would report that as a failure).
`positive_data_acceptance` also accepts 400 (Nyckel's routes), 413, 415 and 422: a schema cannot say that a photo must decode, that a
label must be one of the function's, or that a function's labels must differ from its unknown word. The service
runs with an admin token (so that creating functions needs one, as it must beyond localhost), which the fuzzer
sends: it opens every function.

    python benchmarks/service_fuzz.py [--max-examples 30] [--max-time 300]
"""
import argparse, subprocess, sys, tempfile
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
    admin = 'imgcls-fuzz-admin'
    srv = subprocess.Popen([sys.executable, '-m', 'imgcls.cli', 'service', '--data-dir', str(tmp/'data'), '--port', str(port), '--rate', '100000', '--ui', 'false',
                            '--admin-token', admin],
                           stdout=subprocess.DEVNULL, stderr=open(tmp/'service.log', 'w'))
    try:
        wait_up(f'{url}/openapi.json', timeout=120)
        f = httpx.post(f'{url}/functions', json=dict(name='shapes', labels=['circle', 'square'], retrain_every=1000), headers={'Authorization': f'Bearer {admin}'}).json()
        h = {'Authorization': f"Bearer {f['token']}"}
        for shape,colour in [('circle', 'red'), ('square', 'blue')]:
            files = [('files', (f'{shape}{i}.jpg', picture(shape, colour, seed=i), 'image/jpeg')) for i in range(6)]
            httpx.post(f"{url}/functions/{f['id']}/samples", headers=h, files=files, data=dict(label=shape), timeout=120).raise_for_status()
        httpx.post(f"{url}/functions/{f['id']}/train", headers=h, params=dict(wait=True), timeout=120).raise_for_status()
        sid = httpx.get(f"{url}/functions/{f['id']}/samples", headers=h).json()[0]['id']
        accept = '[checks.positive_data_acceptance]\nexpected-statuses = ["2xx", "400", "401", "403", "404", "409", "413", "415", "422", "429"]\n'
        head = f'headers = {{ Authorization = "Bearer {admin}" }}\n' # the admin token opens every function, and creates them
        (tmp/'owner.toml').write_text(head + f'[parameters]\n"path.fid" = {f["id"]}\n"path.sid" = {sid}\n' + accept)
        (tmp/'any.toml').write_text(head + accept)
        rc = 0
        for cfg,extra in [('owner.toml', ['--exclude-checks', 'negative_data_rejection']), ('any.toml', [])]:
            cmd = ['schemathesis', '--config-file', str(tmp/cfg), 'run', f'{url}/openapi.json', '--checks', 'all', *extra, '--workers', '1',
                   '--max-examples', str(a.max_examples), '--max-time', str(a.max_time // 2), '--seed', str(a.seed), '--request-timeout', '60',
                   '--max-response-time', '60', '--no-color'] # train?wait=true trains a model: seconds, more on a busy 2-core machine
            print(f'== {cfg}: $', ' '.join(cmd[:1] + cmd[3:]), flush=True)
            rc = subprocess.run(cmd, cwd=tmp).returncode or rc
        errors = [l for l in (tmp/'service.log').read_text().splitlines() if 'Traceback' in l or 'ERROR' in l]
        print(f"service log: {len(errors)} error lines" + ''.join(f"\n  {l}" for l in errors[:20]))
        return rc or bool(errors)
    finally: srv.terminate(); srv.wait(10)

if __name__ == '__main__': sys.exit(main())
