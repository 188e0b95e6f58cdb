#!/usr/bin/env python
"""Check that the audit's review widget renders in a real JupyterLab page, in headless Chromium (Debian: apt-get install chromium).

    python tools/lab_check.py [--shot widget.png]

Writes a one-cell notebook (a toy dataset, `audit`, `AuditCleaner`) into a temporary folder, starts `jupyter lab
--expose-app-in-browser` on it, opens it in `chromium --headless=new` with remote debugging, runs all cells through
`jupyterapp.commands`, over the DevTools protocol (websocket-client), then counts the widget's menus and thumbnails in
the page and saves a screenshot. Exits non-zero if the widget did not render.
"""
import subprocess, time, json, sys, os, base64, tempfile, argparse
from pathlib import Path
import httpx, websocket, nbformat
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from imgcls.testing import free_port, wait_up
p = argparse.ArgumentParser(); p.add_argument('--shot', default='widget.png'); a = p.parse_args()
root = Path(tempfile.mkdtemp())
nb = nbformat.v4.new_notebook(metadata={'kernelspec': {'display_name': 'python3', 'language': 'python', 'name': 'python3'}})
nb.cells = [nbformat.v4.new_code_cell('''import tempfile, shutil, os
from pathlib import Path
os.environ['IMGCLS_CACHE'] = tempfile.mkdtemp()
from imgcls.data import toy_dataset
from imgcls.audit import audit, AuditCleaner, near_copy
ds = toy_dataset(Path(tempfile.mkdtemp())/'toy', n=12, size=96)
shutil.move(ds/'circle'/'circle_3.jpg', ds/'square'/'circle_3.jpg')
near_copy(ds/'square'/'square_5.jpg', ds/'square'/'square_5_copy.jpg')
issues = audit(ds, size=64)
cleaner = AuditCleaner(issues, ['circle', 'square'], preset=True)
cleaner''')]
nbformat.write(nb, root/'widget.ipynb')
lp, cp = free_port(), free_port()
env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(Path(__file__).resolve().parent.parent), os.environ.get('PYTHONPATH', '')])}
lab = subprocess.Popen(['jupyter', 'lab', '--no-browser', f'--port={lp}', '--ServerApp.token=', '--ServerApp.password=', '--expose-app-in-browser',
                        f'--ServerApp.root_dir={root}', '--allow-root'], env=env, stdout=open(root/'lab.log', 'w'), stderr=subprocess.STDOUT)
chrome, ok = None, False
try:
    wait_up(f'http://127.0.0.1:{lp}/lab', 120)
    chrome = subprocess.Popen(['chromium', '--headless=new', '--no-sandbox', '--disable-gpu', f'--remote-debugging-port={cp}', '--window-size=1400,1000',
                               f'http://127.0.0.1:{lp}/lab/tree/widget.ipynb'], stdout=open(root/'chrome.log', 'w'), stderr=subprocess.STDOUT)
    wait_up(f'http://127.0.0.1:{cp}/json/version', 60)
    page = next(t for t in httpx.get(f'http://127.0.0.1:{cp}/json').json() if t['type'] == 'page')
    ws = websocket.create_connection(page['webSocketDebuggerUrl'], timeout=60)
    n = iter(range(1, 10**6))
    def cdp(method, **params):
        i = next(n); ws.send(json.dumps(dict(id=i, method=method, params=params)))
        while True:
            m = json.loads(ws.recv())
            if m.get('id') == i: return m.get('result', m)
    def js(expr): return cdp('Runtime.evaluate', expression=expr, awaitPromise=True, returnByValue=True).get('result', {}).get('value')
    for _ in range(120):
        if js("!!(window.jupyterapp && document.querySelector('.jp-Notebook'))"): break
        time.sleep(1)
    time.sleep(5) # kernel start
    print('run-all:', js("window.jupyterapp.commands.execute('notebook:run-all-cells').then(() => 'ok')"))
    for t in range(240):
        r = js("JSON.stringify({dropdowns: document.querySelectorAll('.jp-OutputArea .widget-dropdown select').length, images: document.querySelectorAll('.jp-OutputArea .widget-output img, .jp-OutputArea img').length, labels: [...document.querySelectorAll('.jp-OutputArea .widget-label')].map(e => e.textContent).slice(0, 3), errors: document.querySelectorAll('.jp-OutputArea-output[data-mime-type=\"application/vnd.jupyter.stderr\"]').length})")
        r = json.loads(r)
        if r['dropdowns'] >= 3 and r['images'] >= 1: break
        time.sleep(2)
    print(r)
    shot = cdp('Page.captureScreenshot', format='png')
    open(a.shot, 'wb').write(base64.b64decode(shot['data']))
    print('screenshot:', a.shot)
    ok = r['dropdowns'] >= 3 and r['images'] >= 1
finally:
    if chrome: chrome.terminate(); chrome.wait(10)
    lab.terminate(); lab.wait(20)
sys.exit(0 if ok else 'the widget did not render')
