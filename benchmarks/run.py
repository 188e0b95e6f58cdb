#!/usr/bin/env python
"""imgcls benchmark: accuracy, label efficiency, training time and memory, serving speed and memory, results per source.

    python benchmarks/run.py [--quick] [--shift-only] [--photos ../shared/datasets/photos] [--food ../shared/datasets/food] [--out benchmarks/results.json]

First, under shift: grouped cross-validation on both reference tasks (the four headline categories; food), holding out
whole sources or sub-groups, with "none of these" measured on held-out negatives and the label flips under a JPEG
re-encode (`--shift-only` stops there). Then, secondary, on the four headline categories of the shared photos with a
fixed, stratified 20% hold-out from the same sources. Prints markdown tables and writes them as JSON. Every timing is
taken in a fresh process where it matters (training end to end, serving cold start) and is a median of several runs
where it is short. `--quick` skips fine-tuning, EfficientNet-Lite1/2, the pre-issue-9 network and the same-source
folds, and draws fewer label subsets: CI runs `--quick --out <a temp file>`, which leaves the committed JSON alone.
"""
import argparse, json, os, sys, time, subprocess, resource, tempfile, platform, socket
from pathlib import Path
import numpy as np

here = Path(__file__).resolve().parent
cats = ['nature', 'sports', 'architecture', 'fashion']
cats_sorted = sorted(cats) # the class indices of the heads fitted here
archs = {'efficientnet_lite0': 224, 'efficientnet_lite1': 240, 'efficientnet_lite2': 260} # each network's native size

def peak_rss_mb():
    "Peak resident memory of this process (VmHWM; unlike ru_maxrss it does not carry over the parent's peak through fork and exec)"
    st = Path('/proc/self/status')
    if st.exists(): return int(next(l for l in st.read_text().splitlines() if l.startswith('VmHWM')).split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1 << 20 if sys.platform == 'darwin' else 1024)

def manifest(photos):
    "The photos of the four categories (sorted) and their sources, from the dataset's manifest.csv"
    import csv
    rows = sorted((r for r in csv.DictReader(open(photos/'manifest.csv', encoding='utf-8')) if r['label'] in cats), key=lambda r: r['file'])
    return [photos/r['file'] for r in rows], np.array([r['label'] for r in rows]), np.array([r['source'] for r in rows])

def split(labels, seed=0):
    "Fixed stratified 80/20 split: indices of the training photos and of the hold-out"
    from sklearn.model_selection import train_test_split
    return train_test_split(np.arange(len(labels)), test_size=0.2, stratify=labels, random_state=seed)

# ---------------------------------------------------------------- children: run in fresh processes by the parent
def child_train(a):
    "Train, measure on the hold-out and export, as `imgcls train` does; optionally compare serving speed with `learn.predict`"
    t0 = time.perf_counter()
    from imgcls.train import train, evaluate, export_bundle
    t_import = time.perf_counter() - t0
    valid = json.loads(Path(a.valid).read_text())
    t = time.perf_counter()
    if a.mode == 'auto': # `imgcls train`'s default: the candidate recipes measured within the budget, the best trained
        from imgcls.recipe import choose_recipe
        learn = choose_recipe(a.photos, a.budget, cats=cats, valid=valid, log=lambda m: print(m, file=sys.stderr))
    else: learn = train(a.photos, arch=a.arch, mode=a.mode, size=a.size, cats=cats, valid=valid, epochs=a.epochs)
    t_train = time.perf_counter() - t
    t = time.perf_counter()
    res = evaluate(learn)
    export_bundle(learn, a.dest, metrics=res, examples=0)
    t_export = time.perf_counter() - t
    out = dict(e2e_s=time.time() - a.t0, import_s=t_import, train_s=t_train, evaluate_export_s=t_export, peak_rss_mb=peak_rss_mb(), accuracy=res['accuracy'],
               macro_f1=res['macro_f1'], recall={c: v['recall'] for c,v in res['per_class'].items()})
    if a.mode == 'auto': out['recipe'] = learn.imgcls['recipe']['name']
    if a.mode == 'fast': # the head-only retrain: features cached, only the logistic regression is refitted
        t = time.perf_counter(); train(a.photos, arch=a.arch, mode=a.mode, size=a.size, cats=cats, valid=valid); out['retrain_s'] = time.perf_counter() - t
    if a.latency: out.update(latency(learn, a.dest, valid, a.reps, a.food))
    print('RESULT ' + json.dumps(out))

def pcts(ts): return dict(p50_ms=1000*float(np.median(ts)), p95_ms=1000*float(np.percentile(ts, 95)))

def latency(learn, bundle, fns, reps, food=None):
    "Single-image latency (file bytes -> answer) of `learn.predict` and of imgcls's `Classifier.classify` (with the OOD score), and batch throughput"
    import torch
    from imgcls.infer import Classifier
    from imgcls.app import quantize_bundle
    food = sorted(Path(food).rglob('*.jpg')) if food else [] # another task's photos calibrate the int8 copy
    q = quantize_bundle(bundle, Path(bundle).with_name('int8'), food[::max(1, len(food) // 64)][:64] or None) # as the built-in model's
    clf,clf8 = Classifier(bundle, precision='fp32'),Classifier(q, precision='int8')
    fns = [Path(f) for f in fns[:reps]]
    for f in fns[:3]: learn.predict(f); clf.classify(Path(f).read_bytes()); clf8.classify(Path(f).read_bytes()) # warm up
    def timed(f, x): t = time.perf_counter(); f(x); return time.perf_counter() - t
    tl,ts,tc,t8 = [],[],[],[]
    with learn.no_bar(), learn.no_logging():
        for i in range(0, len(fns), 10): # alternating blocks of 10: all see the same machine state, none the others' spinning threads
            learn.model.to(memory_format=torch.contiguous_format) # fastai's default, as any fastai learner
            ts += [timed(learn.predict, f) for f in fns[i:i+10]]
            learn.model.to(memory_format=torch.channels_last) # as imgcls's `train` leaves it, after computing features
            tl += [timed(learn.predict, f) for f in fns[i:i+10]]
            tc += [timed(lambda f: clf.classify(Path(f).read_bytes()), f) for f in fns[i:i+10]]
            t8 += [timed(lambda f: clf8.classify(Path(f).read_bytes()), f) for f in fns[i:i+10]]
    l,c,st,c8 = pcts(tl),pcts(tc),pcts(ts),pcts(t8)
    def best_of(f, n=3): return min(f() for _ in range(n))
    def clf_batch():
        t = time.perf_counter()
        for i in range(0, len(fns), 32): clf.predict(fns[i:i+32])
        return time.perf_counter() - t
    def learn_batch():
        t = time.perf_counter()
        with learn.no_bar(): learn.get_preds(dl=learn.dls.test_dl(fns, bs=32))
        return time.perf_counter() - t
    return dict(predict_p50_ms=st['p50_ms'], predict_p95_ms=st['p95_ms'], predict_cl_p50_ms=l['p50_ms'], predict_cl_p95_ms=l['p95_ms'],
                imgcls_p50_ms=c['p50_ms'], imgcls_p95_ms=c['p95_ms'], speedup_p50=st['p50_ms']/c['p50_ms'], speedup_cl_p50=l['p50_ms']/c['p50_ms'],
                imgcls_int8_p50_ms=c8['p50_ms'], imgcls_int8_p95_ms=c8['p95_ms'], speedup_int8_p50=st['p50_ms']/c8['p50_ms'], speedup_int8_cl_p50=l['p50_ms']/c8['p50_ms'], imgcls_batch_ips=len(fns)/best_of(clf_batch),
                learn_batch_ips=len(fns)/best_of(learn_batch), torch_threads=torch.get_num_threads(), n_latency=len(fns))

def child_serve(a):
    "Cold start of the serving path: import imgcls.infer, load the bundle, answer one image; then 100 more for peak RSS"
    from imgcls.infer import Classifier
    clf = Classifier(a.dest)
    valid = json.loads(Path(a.valid).read_text())
    clf.classify(Path(valid[0]).read_bytes())
    print('FIRST', flush=True)
    for f in valid[:100]: clf.classify(Path(f).read_bytes())
    print('RESULT ' + json.dumps(dict(peak_rss_mb=peak_rss_mb(), torch_imported='torch' in sys.modules)))

# ---------------------------------------------------------------- parent
def run_child(args, env=None, timeout=3600):
    "Run this script as a child; its wall time from process start to exit, and its RESULT"
    t = time.perf_counter()
    r = subprocess.run([sys.executable, __file__, *map(str, args), '--t0', str(time.time())], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout)
    wall = time.perf_counter() - t
    res = [l for l in r.stdout.splitlines() if l.startswith('RESULT ')]
    if r.returncode or not res: raise RuntimeError(f"child {args[:2]} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return dict(json.loads(res[-1][7:]), wall_s=wall)

def serve_cold(photos, bundle, valid, reps):
    "Median cold start (process start -> first prediction printed) and the serving process's peak RSS"
    starts,rss = [],[]
    for _ in range(reps):
        t = time.perf_counter()
        p = subprocess.Popen([sys.executable, __file__, '--child', 'serve', '--dest', bundle, '--valid', valid, '--photos', photos],
                             stdout=subprocess.PIPE, text=True)
        for line in p.stdout:
            if line.startswith('FIRST'): starts.append(time.perf_counter() - t)
            if line.startswith('RESULT '): res = json.loads(line[7:])
        p.wait()
        rss.append(res['peak_rss_mb'])
    return dict(cold_start_s=float(np.median(starts)), peak_rss_mb=float(np.median(rss)), torch_imported=res['torch_imported'])

def free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def app_cold(bundle, img):
    "`imgcls serve` (Gradio app): process start -> first /predict answered over HTTP, and the server's peak RSS"
    import httpx
    from gradio_client import Client, handle_file
    port = free_port()
    t = time.perf_counter()
    p = subprocess.Popen([sys.executable, '-m', 'imgcls.cli', 'serve', '--model', str(bundle), '--port', str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f'http://127.0.0.1:{port}/'
        while True:
            try:
                if httpx.get(url + 'config', timeout=1).status_code == 200: break
            except httpx.HTTPError: pass
            if p.poll() is not None: raise RuntimeError('imgcls serve exited')
            time.sleep(0.05)
        Client(url, verbose=False).predict(img=handle_file(img), api_name='/predict')
        cold = time.perf_counter() - t
        hwm = [l for l in Path(f'/proc/{p.pid}/status').read_text().splitlines() if l.startswith('VmHWM')]
        return dict(cold_start_s=cold, peak_rss_mb=int(hwm[0].split()[1]) / 1024 if hwm else None)
    finally: p.terminate(); p.wait()

def fit_predict(X, y, Xq):
    "The categories (names) of `Xq` under the logistic regression `imgcls.head.fit_linear` fits on features `X` of categories `y`"
    from imgcls.head import fit_linear
    W,b = fit_linear(X, np.searchsorted(cats_sorted, y), len(cats_sorted))
    return np.array(cats_sorted)[(Xq @ W.T + b).argmax(1)]

def accuracy_tables(photos, fns, labels, sources, tr, te, arch_list, draws):
    "Hold-out and 5-fold accuracy per network on cached features, label efficiency and per-source results for the first network"
    from sklearn.model_selection import StratifiedKFold
    from sklearn.metrics import f1_score
    from imgcls.train import train, features
    out = dict(archs={}, label_efficiency={}, per_source={})
    for arch in arch_list:
        t = time.perf_counter()
        learn = train(photos, arch=arch, size=archs[arch], cats=cats, valid=[fns[i] for i in te])
        x = features(learn, fns, learn.imgcls['cache'])
        feat_s = time.perf_counter() - t
        p = fit_predict(x[tr], labels[tr], x[te])
        oof,folds = np.empty_like(labels),[]
        for fit,f in StratifiedKFold(5, shuffle=True, random_state=0).split(x, labels):
            oof[f] = fit_predict(x[fit], labels[fit], x[f]); folds.append(np.mean(oof[f] == labels[f]))
        out['archs'][arch] = dict(size=archs[arch], holdout_acc=float(np.mean(p == labels[te])), macro_f1=float(f1_score(labels[te], p, average='macro')),
                                  recall={c: float(np.mean(p[labels[te] == c] == c)) for c in cats},
                                  cv5_mean=float(np.mean(folds)), cv5_worst=float(np.min(folds)), features_s=feat_s, n_holdout=len(te))
        if arch == arch_list[0]:
            rng = np.random.default_rng(0)
            for n in (5, 10, 20, 50):
                accs = []
                for _ in range(draws):
                    sub = np.concatenate([rng.choice(tr[labels[tr] == c], n, replace=False) for c in cats])
                    accs.append(np.mean(fit_predict(x[sub], labels[sub], x[te]) == labels[te]))
                out['label_efficiency'][n] = dict(mean=float(np.mean(accs)), worst=float(np.min(accs)), draws=draws)
            for s in sorted(set(sources)):
                i,j = sources == s,sources[te] == s
                out['per_source'][s] = dict(label=', '.join(sorted(set(labels[i]))), n=int(i.sum()), cv5_acc=float(np.mean(oof[i] == labels[i])),
                                            n_holdout=int(j.sum()), holdout_acc=float(np.mean(p[j] == labels[te][j])) if j.any() else None)
    return out

def ood_table(photos, fns, labels, tr, te, k_list=(1, 5, 10)):
    "OOD methods compared: fit on 80% of the training photos, threshold from the other 20%, measured on the hold-out and on `other`"
    from sklearn.model_selection import train_test_split
    from imgcls.train import train, features
    from imgcls.head import fit_linear
    from imgcls.ood import fit_ood, ood_methods, auroc, tnr_at_tpr
    learn = train(photos, cats=cats, valid=[fns[i] for i in te]) # only for its network; features come from the cache
    other = sorted((photos/'other').glob('*.jpg'))
    x,xo = features(learn, fns, learn.imgcls['cache']),features(learn, other, learn.imgcls['cache'])
    fit,cal = train_test_split(tr, test_size=0.2, stratify=labels[tr], random_state=1)
    W,b = fit_linear(x[fit], np.searchsorted(cats_sorted, labels[fit]), len(cats_sorted))
    yi = lambda idx: np.searchsorted(cats_sorted, labels[idx])
    lg = lambda f: f @ W.T + b
    pred = lambda f: np.array(cats_sorted)[lg(f).argmax(1)]
    acc_all = float(np.mean(pred(x[te]) == labels[te]))
    out = {}
    for meth in [m for m in ood_methods if m != 'knn+none']: # the head's own method: `imgcls.head.fit_head` fits it, the shift tables measure it
        for k in (k_list if meth == 'knn' else (1,)):
            params,arrays = fit_ood(meth, x[fit], yi(fit), lg(x[cal]), x[cal], yi(cal), keep=0.95, k=k)
            st = {**params, **arrays}
            si,so = ood_methods[meth](lg(x[te]), x[te], st),ood_methods[meth](lg(xo), xo, st)
            kept = si <= params['threshold']
            out[meth + (f' (k={k})' if meth == 'knn' else '')] = dict(
                auroc=auroc(si, so), tnr_at_95tpr=tnr_at_tpr(si, so, 0.95), kept_in=float(kept.mean()), rejected_other=float(np.mean(so > params['threshold'])),
                acc_accepted=float(np.mean(pred(x[te][kept]) == labels[te][kept])), acc_all=acc_all)
    return dict(methods=out, n_fit=len(fit), n_calibration=len(cal), n_in=len(te), n_other=len(other))

def pct(v): return '' if v is None else f'{100*v:.2f}%'

# ---------------------------------------------------------------- under shift: grouped cross-validation
def _group(r, task):
    "The group a photo is held out with: its source or, where a category has one source, a sub-group its file name carries"
    part = Path(r['file']).stem.split('__')
    s = r['source']
    if task == 'food': return f"{r['label']}/{r['dish']}"                    # a dish
    if s == 'sports100': return f'sports100/{part[2]}'                       # a sport
    if s in ('intel', 'clothing'): return f"{r['label']}/{s}/{part[1]}"      # an Intel scene type, a garment type
    if s == 'ccp': return f'ccp/{int(part[1]) * 5 // 1005}'                  # CCP street photos in five runs of numbers (all of CCP out leaves fashion with product shots only)
    if s == 'imagenette': return f"{r['label']}/imagenette/{r['source_path'].split('/')[3]}" # a synset
    if s == 'inet1k': return f'inet1k/{part[1][:3]}'                          # a branch of ImageNet's synsets
    return f"{r['label']}/{s}"

def _rows(root):
    import csv
    return sorted(csv.DictReader(open(Path(root)/'manifest.csv', encoding='utf-8')), key=lambda r: r['file'])

def _reencoded(fn, q=75):
    import io
    from imgcls.core import load_image
    b = io.BytesIO(); load_image(fn).save(b, 'JPEG', quality=q); return b.getvalue()

def _features(clf, paths):
    "Features of `paths` and of their JPEG quality-75 re-encodes through bundle `clf`"
    f,q = [],[]
    for i in range(0, len(paths), 64):
        ps = paths[i:i+64]
        f.append(clf.features(ps)); q.append(clf.features([_reencoded(p) for p in ps]))
    return np.concatenate(f),np.concatenate(q)

def _old_recipe(X, y, n):
    "The recipe before issue 9: logistic regression; kNN (k=1) with the threshold keeping 95% of a random same-source 20% split"
    from sklearn.model_selection import train_test_split
    from imgcls.head import fit_linear
    from imgcls.ood import fit_ood
    fit,cal = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=0)
    W,b = fit_linear(X[fit], y[fit], n)
    params,arrays = fit_ood('knn', X[fit], y[fit], X[cal] @ W.T + b, X[cal], y[cal], keep=0.95)
    W,b = fit_linear(X, y, n)
    return {**params, **arrays},dict(W=W, b=b)

def cross_validate(d, recipe='new', k=5, same_source=False):
    "Train on all folds but one (whole groups, or random photos with `same_source`), answer the held-out photos, their re-encodes and held-out negatives"
    from sklearn.model_selection import StratifiedKFold
    from imgcls.head import grouped_cv, cv_summary, group_folds
    from imgcls.ood import answer_logits
    X,Xq,y,cats = d['X'],d['Xq'],d['y'],d['cats']
    fold = group_folds(y, d['groups'], k)
    if same_source:
        for j,(_,te) in enumerate(StratifiedKFold(k, shuffle=True, random_state=0).split(X, y)): fold[te] = j
    nfold = group_folds(np.zeros(len(d['N']), int), d['neg_groups'], k)
    t = time.perf_counter()
    if recipe == 'new': # imgcls's own head, the shipped negatives less those this fold tests on
        def shipped(j): return np.r_[d['N'][d['in_shipped'] & (nfold != j)], d['synthetic']]
        res = grouped_cv(X, y, cats, fold, shipped=shipped, test_negatives=d.get('Na', d['N'])[d['is_test_neg']], test_fold=nfold[d['is_test_neg']],
                         Xq=Xq, Xa=d.get('Xa')) # `Xa`, `Na`: the held-out photos and negatives answered through another network (int8)
    else:
        res = dict(label=np.empty(len(y), object), top=np.empty(len(y), object), label_q=np.empty(len(y), object), score=np.zeros(len(y)),
                   neg_label=np.empty(d['is_test_neg'].sum(), object), neg_score=np.zeros(d['is_test_neg'].sum()))
        tf = nfold[d['is_test_neg']]
        for j in range(k):
            te = fold == j
            st,arrays = _old_recipe(X[~te], y[~te], len(cats))
            def answer(Z): return answer_logits(Z @ arrays['W'].T + arrays['b'], Z, cats, st)
            a,aq,an = answer(X[te]),answer(Xq[te]),answer(d['N'][d['is_test_neg']][tf == j])
            res['label'][te],res['top'][te] = [o['label'] for o in a],[next(iter(o['confidences'])) for o in a]
            res['score'][te],res['label_q'][te] = [o['ood_score'] for o in a],[o['label'] for o in aq]
            res['neg_label'][tf == j],res['neg_score'][tf == j] = [o['label'] for o in an],[o['ood_score'] for o in an]
    src = d['sources']
    if 'scored' in d: # only these photos' answers count (e.g. not those that calibrated an int8 network)
        m = d['scored']; res = {**res, **{k: res[k][m] for k in ('label', 'top', 'score', 'label_q')}}; y,src = y[m],src[m]
    s = cv_summary(res, y, cats)
    yy,lab,top = np.array(cats)[y],res['label'],res['top']
    kept = lab != 'unknown'
    return dict(s, fit_s=(time.perf_counter() - t) / k,
                per_source={v: dict(n=int((src == v).sum()), acc=float(np.mean(top[src == v] == yy[src == v])), kept=float(np.mean(kept[src == v])),
                                    e2e=float(np.mean(lab[src == v] == yy[src == v]))) for v in sorted(set(src))})

def old_network():
    "The built-in model before issue 9, from git; None without that history (e.g. a shallow CI checkout)"
    from imgcls.infer import Classifier
    with tempfile.TemporaryDirectory(prefix='imgcls-old-') as old: # a Classifier reads its bundle's files when made
        for f in ('model.json', 'model.onnx', 'ood.npz'):
            data = subprocess.run(['git', 'show', f'12f634c:imgcls/models/default/{f}'], cwd=here.parent, capture_output=True).stdout
            if data: (Path(old)/f).write_bytes(data)
        return Classifier(old) if (Path(old)/'model.onnx').exists() else None

def task_data(task, prows, frows, P, Pq, F, Fq, syn):
    "One task's photos, categories, groups and negatives, from the features of every photo (`P`), food photo (`F`), their re-encodes and the synthetic negatives"
    pl = np.array([r['label'] for r in prows])
    pg = np.array([_group(r, 'photos') for r in prows])
    if task == 'photos':
        cats = ['architecture', 'fashion', 'nature', 'sports']; m = np.isin(pl, cats)
        d = dict(X=P[m], Xq=Pq[m], y=np.searchsorted(cats, pl[m]), groups=pg[m], sources=np.array([f"{r['label']}/{r['source']}" for r in prows])[m],
                 N=P[pl == 'other'], neg_groups=pg[pl == 'other'], is_test_neg=np.ones((pl == 'other').sum(), bool), in_shipped=np.ones((pl == 'other').sum(), bool))
    else:
        foodlike = np.array([r['source'] == 'inet1k' and Path(r['file']).stem.split('__')[1].startswith('n07') for r in prows])
        cats = ['breakfast', 'dessert', 'main_course', 'soup']; fl = np.array([r['label'] for r in frows])
        negm = ~foodlike # every photo that is not food: the four categories and `other`, less ImageNet's foods
        d = dict(X=F, Xq=Fq, y=np.searchsorted(cats, fl), groups=np.array([_group(r, 'food') for r in frows]),
                 sources=np.array([f"{r['label']}/{r['source']}" for r in frows]), N=P[negm], neg_groups=pg[negm],
                 is_test_neg=np.ones(negm.sum(), bool), in_shipped=(pl == 'other')[negm])
    return dict(d, cats=cats, synthetic=syn)

def shift_tables(photos, food, old=True, same_source=True):
    "Grouped (and `same_source`) cross-validation on both tasks, new recipe and old, features through the built-in model's network and (`old`) the previous one's"
    from imgcls.infer import Classifier
    from imgcls.bundle import default_bundle
    from imgcls.data import synthetic_negatives
    prows,frows = _rows(photos),_rows(food)
    nets = dict(new=Classifier(default_bundle()))
    if old and (clf := old_network()): nets['old'] = clf
    out = {}
    for name,clf in nets.items():
        t = time.perf_counter()
        P,Pq = _features(clf, [photos/r['file'] for r in prows])
        F,Fq = _features(clf, [food/r['file'] for r in frows])
        syn = clf.features(synthetic_negatives())
        feat_s = time.perf_counter() - t
        for task in ('photos', 'food'):
            d = task_data(task, prows, frows, P, Pq, F, Fq, syn)
            for recipe in (('new', 'old') if name == 'new' else ('old',)):
                key = f"{task}: {'built-in network, ' if name == 'new' else ''}{recipe} recipe"
                print(f'  {key} ...', file=sys.stderr)
                out[key] = dict(grouped=cross_validate(d, recipe), features_s=feat_s, task=task)
                if same_source: out[key]['same_source'] = cross_validate(d, recipe, same_source=True)
    return out

def recipe_features(name, photos, food, work):
    "Features of every photo, food photo, their JPEG quality-75 re-encodes and the synthetic negatives through recipe `name`, as `imgcls train` computes them; seconds"
    from imgcls.recipe import recipes
    from imgcls.train import train, features
    from imgcls.data import synthetic_negatives
    prows,frows = _rows(photos),_rows(food)
    paths = [photos/r['file'] for r in prows] + [food/r['file'] for r in frows]
    re_dir,syn_dir = work/'reencoded',work/'synthetic'
    if not re_dir.exists(): # written once, read by every recipe
        tmp = work/'reencoded.tmp'; tmp.mkdir(parents=True, exist_ok=True)
        for i,p in enumerate(paths): (tmp/f'{i:05d}.jpg').write_bytes(_reencoded(p))
        tmp.rename(re_dir)
        syn_dir.mkdir()
        for i,im in enumerate(synthetic_negatives()): im.save(syn_dir/f'{i:03d}.png')
    t = time.perf_counter()
    learn = train(photos, **recipes[name], cats=cats, shipped=False)
    c = learn.imgcls['cache']
    X,Xq = features(learn, paths, c),features(learn, sorted(re_dir.iterdir()), c)
    syn = features(learn, sorted(syn_dir.iterdir()), c)
    n = len(prows)
    return (X[:n], Xq[:n], X[n:], Xq[n:], syn),time.perf_counter() - t

quick_recipes = ['lite0'] # what `--quick` (CI) measures

def recipe_tables(photos, food, names, work):
    "Grouped cross-validation of each candidate recipe of `imgcls train --recipe auto`, both tasks, with the time of its features"
    from imgcls.recipe import recipes, recipe_cost
    prows,frows = _rows(photos),_rows(food)
    out = {}
    for name in names:
        print(f'  recipe {name}: features ...', file=sys.stderr)
        f,feat_s = recipe_features(name, photos, food, work)
        for task in ('photos', 'food'):
            out[f'{task}: {name}'] = dict(grouped=cross_validate(task_data(task, prows, frows, *f)), features_s=feat_s, task=task,
                                          recipe=name, cost=recipe_cost(recipes[name]), n_images=2 * (len(prows) + len(frows)) + len(f[-1]))
    return out

def finetune_cv(photos, food, task, work, k=5, epochs=3, n_neg=400):
    "LP-FT (`imgcls train --mode finetune`) under the grouped split: per fold a network fine-tuned on the other folds, its head and threshold fitted as `train` fits them"
    from imgcls.train import train, features
    from imgcls.head import group_folds, cv_summary
    from imgcls.ood import answer_logits
    prows = _rows(photos)
    root,rows = (photos, [r for r in prows if r['label'] in cats]) if task == 'photos' else (food, _rows(food))
    tcats = sorted(set(r['label'] for r in rows))
    y = np.searchsorted(tcats, [r['label'] for r in rows])
    fold = group_folds(y, np.array([_group(r, task) for r in rows]), k)
    negs = [photos/r['file'] for r in prows if r['label'] == 'other'][:n_neg] # negatives never trained on: the shipped bank is another network's
    re_dir = work/f'ft-reencoded-{task}'; re_dir.mkdir(exist_ok=True)
    paths = [root/r['file'] for r in rows]
    q = []
    for i,p in enumerate(paths): q.append(re_dir/f'{i:05d}.jpg'); q[-1].write_bytes(_reencoded(p))
    res = dict(label=np.empty(len(y), object), top=np.empty(len(y), object), label_q=np.empty(len(y), object), score=np.zeros(len(y)),
               neg_label=np.empty(0, object), neg_score=np.zeros(0))
    t = time.perf_counter()
    for j in range(k):
        te = np.flatnonzero(fold == j)
        print(f'  finetune {task}: fold {j + 1} of {k} ...', file=sys.stderr)
        learn = train(root, mode='finetune', epochs=epochs, cats=tcats, valid=[paths[i] for i in te])
        h = learn.imgcls['head']
        st = {**h['params'], **h['arrays']}
        def answer(items):
            Z = features(learn, items)
            return answer_logits(Z @ h['arrays']['W'].T + h['arrays']['b'], Z, tcats, st)
        a,aq = answer([paths[i] for i in te]),answer([q[i] for i in te])
        res['label'][te],res['top'][te] = [o['label'] for o in a],[next(iter(o['confidences'])) for o in a]
        res['score'][te],res['label_q'][te] = [o['ood_score'] for o in a],[o['label'] for o in aq]
        an = answer(negs[j::k]) # each fold answers a fifth of the negatives
        res['neg_label'] = np.r_[res['neg_label'], [o['label'] for o in an]]
        res['neg_score'] = np.r_[res['neg_score'], [o['ood_score'] for o in an]]
    return dict(grouped=dict(cv_summary(res, y, tcats), fit_s=(time.perf_counter() - t) / k), task=task, recipe=f'finetune (LP-FT, {epochs} epochs)',
                cost=1.0, features_s=time.perf_counter() - t, n_images=len(y))

def recipe_table_md(r):
    o = ["Candidate recipes of `imgcls train --recipe auto`, measured as above (grouped 5-fold, held-out negatives, JPEG re-encodes); features "
         "computed through `imgcls.train.train` as `imgcls train` computes them, from a cold cache, for every photo, its re-encode and the synthetic negatives. "
         "'cost': time per image relative to Lite0 with its mirror image, in training and in serving.\n",
         '| task | recipe | cost | accuracy, no rejection | kept | accuracy of kept | end to end | negatives rejected | AUROC | flips | features (images) | head fit per fold |',
         '|---|---|---|---|---|---|---|---|---|---|---|---|']
    for k,v in sorted(r.items(), key=lambda kv: (kv[1]['task'] != 'photos', kv[1]['cost'])):
        g = v['grouped']
        o.append(f"| {v['task']} | {v['recipe']} | {v['cost']:.2f}x | {pct(g['acc'])} | {pct(g['kept'])} | {pct(g['acc_kept'])} | {pct(g['e2e'])} | "
                 f"{pct(g['neg_rejected'])} | {g['auroc']:.3f} | {pct(g['flips'])} | {v['features_s']:.0f} s ({v['n_images']}) | {g['fit_s']:.1f} s |")
    return '\n'.join(o)

def shift_table_md(r):
    o = ["Grouped 5-fold cross-validation: whole groups (a source; a sport, an Intel scene type, a garment type, an ImageNet synset for one-source "
         "categories; a dish for food) are held out together, every fold trains every category. Negatives: held-out folds of `other` "
         "(photos task) or of every non-food photo (food task, ImageNet's foods left out), never among the shipped negatives of the fold that tests them. "
         "'flips': answers changed by a JPEG quality-75 re-encode. Same-source: random stratified folds, the same recipe.\n",
         '| task, features, recipe | split | accuracy, no rejection | kept | accuracy of kept | end to end | negatives rejected | AUROC | flips | head fit per fold |',
         '|---|---|---|---|---|---|---|---|---|---|']
    for k,v in r.items():
        for split in ('grouped', 'same_source'):
            if split not in v: continue
            g = v[split]
            o.append(f"| {k} | {split.replace('_', '-')} | {pct(g['acc'])} | {pct(g['kept'])} | {pct(g['acc_kept'])} | {pct(g['e2e'])} | {pct(g['neg_rejected'])} | "
                     f"{g['auroc']:.3f} | {pct(g['flips'])} | {g['fit_s']:.1f} s |")
    o += ['', '| task, features, recipe | source | photos | accuracy, no rejection | kept | end to end |', '|---|---|---|---|---|---|']
    for k,v in r.items():
        if 'new recipe' not in k: continue
        for s,g in v['grouped']['per_source'].items(): o.append(f"| {k} | {s} | {g['n']} | {pct(g['acc'])} | {pct(g['kept'])} | {pct(g['e2e'])} |")
    return '\n'.join(o)

def tables(r):
    "The results as markdown tables"
    o = [f"imgcls benchmark, {r['machine']}\n", shift_table_md(r['shift']), '', *([recipe_table_md(r['recipes']), ''] if 'recipes' in r else []),
         f"Same-source split (secondary): {r['n_train']} training and {r['n_holdout']} hold-out photos (stratified, seed 0)\n"]
    o += ['| network | size | hold-out accuracy | macro-F1 | recall nature / sports / architecture / fashion | 5-fold CV mean (worst) | features of 1,200 photos |',
          '|---|---|---|---|---|---|---|']
    for k,v in r['accuracy']['archs'].items():
        o.append(f"| {k} | {v['size']} | {pct(v['holdout_acc'])} | {v['macro_f1']:.4f} | {' / '.join(pct(v['recall'][c]) for c in cats)} | "
                 f"{pct(v['cv5_mean'])} ({pct(v['cv5_worst'])}) | {v['features_s']:.0f} s |")
    o += ['', '| labelled photos per category | hold-out accuracy, mean | worst | draws |', '|---|---|---|---|']
    for n,v in r['accuracy']['label_efficiency'].items(): o.append(f"| {n} | {pct(v['mean'])} | {pct(v['worst'])} | {v['draws']} |")
    o += ['', '| training mode | end to end (process start to bundle written) | train() | head-only retrain | peak RSS | hold-out accuracy |', '|---|---|---|---|---|---|']
    for k,v in r['training'].items():
        o.append(f"| {k}{' (picked ' + v['recipe'] + ')' if 'recipe' in v else ''} | {v['e2e_s']:.1f} s | {v['train_s']:.1f} s | {'%.2f s' % v['retrain_s'] if 'retrain_s' in v else ''} | {v['peak_rss_mb']:.0f} MB | {pct(v['accuracy'])} |")
    s,l = r['serving'],r['training']['fast, warm cache']
    o += ['', '| serving | value |', '|---|---|',
          f"| single image, file bytes -> answer with OOD score, p50 / p95: imgcls (onnxruntime) | {l['imgcls_p50_ms']:.1f} / {l['imgcls_p95_ms']:.1f} ms |",
          f"| the same with fastai `learn.predict` (fastai's default memory format) | {l['predict_p50_ms']:.1f} / {l['predict_p95_ms']:.1f} ms |",
          f"| the same with `learn.predict` on the channels-last model imgcls's `train` returns | {l['predict_cl_p50_ms']:.1f} / {l['predict_cl_p95_ms']:.1f} ms |",
          f"| speed-up at p50, same run: over fastai's default / over channels-last | {l['speedup_p50']:.1f}x / {l['speedup_cl_p50']:.1f}x |",
          *([f"| the same through the int8 copy of the network (`imgcls.app.quantize_bundle`, the float32 head kept), p50 / p95 | {l['imgcls_int8_p50_ms']:.1f} / {l['imgcls_int8_p95_ms']:.1f} ms |",
             f"| int8's speed-up at p50, same run: over fastai's default / over channels-last | {l['speedup_int8_p50']:.1f}x / {l['speedup_int8_cl_p50']:.1f}x |"] if 'imgcls_int8_p50_ms' in l else []),
          f"| batch throughput incl. JPEG decode, batches of 32: imgcls / fastai `get_preds` | {l['imgcls_batch_ips']:.0f} / {l['learn_batch_ips']:.0f} images/s |",
          f"| cold start, `imgcls.infer` (process start -> first prediction), median | {s['infer']['cold_start_s']:.2f} s |",
          f"| peak RSS of that serving process (101 predictions); torch imported: {s['infer']['torch_imported']} | {s['infer']['peak_rss_mb']:.0f} MB |"]
    if 'app' in s: o += [f"| cold start, `imgcls serve` (Gradio app, first /predict answered over HTTP) | {s['app']['cold_start_s']:.2f} s |",
                         f"| peak RSS of the Gradio server | {s['app']['peak_rss_mb']:.0f} MB |"]
    if 'ood' in r:
        d = r['ood']
        o += ['', f"Out of distribution: logistic regression and OOD statistics fitted on {d['n_fit']} training photos, threshold from {d['n_calibration']} other "
              f"training photos (keep 95%); in-distribution: the {d['n_in']} hold-out photos; out: the {d['n_other']} `other` photos\n",
              '| method | AUROC | TNR at 95% TPR | hold-out kept (calibrated threshold) | `other` rejected | accuracy of kept hold-out photos | accuracy without rejection |',
              '|---|---|---|---|---|---|---|']
        for k,v in d['methods'].items():
            o.append(f"| {k} | {v['auroc']:.4f} | {pct(v['tnr_at_95tpr'])} | {pct(v['kept_in'])} | {pct(v['rejected_other'])} | {pct(v['acc_accepted'])} | {pct(v['acc_all'])} |")
    o += ['', '| source | categories | photos | 5-fold CV accuracy | hold-out photos | hold-out accuracy |', '|---|---|---|---|---|---|']
    for k,v in r['accuracy']['per_source'].items(): o.append(f"| {k} | {v['label']} | {v['n']} | {pct(v['cv5_acc'])} | {v['n_holdout']} | {pct(v['holdout_acc'])} |")
    return '\n'.join(o)

def machine():
    cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), platform.processor()) if Path('/proc/cpuinfo').exists() else platform.processor()
    return f"{os.cpu_count()} CPU cores ({cpu}), Python {platform.python_version()}, {platform.system()}"

def bench(a, photos, work):
    "Every table, on the photos in `photos` (and `a.food`), with scratch folder `work`; None after the shift tables with `a.shift_only`"
    fns,labels,sources = manifest(photos)
    tr,te = split(labels)
    valid = work/'holdout.json'; valid.write_text(json.dumps([str(fns[i]) for i in te]))
    r = dict(machine=machine(), quick=a.quick, n_train=len(tr), n_holdout=len(te), date=time.strftime('%Y-%m-%d'))
    print('under shift: grouped cross-validation, both tasks ...', file=sys.stderr)
    r['shift'] = shift_tables(photos, Path(a.food).resolve(), old=not a.quick, same_source=not a.quick)
    print(shift_table_md(r['shift']))
    from imgcls.recipe import recipes
    names = a.recipes.split(',') if a.recipes else (quick_recipes if a.quick else list(recipes))
    print(f"candidate recipes, both tasks: {', '.join(names)} ...", file=sys.stderr)
    os.environ['IMGCLS_CACHE'] = str(work/'recipe-cache') # a cold cache: the 'features' column times computing them
    r['recipes'] = recipe_tables(photos, Path(a.food).resolve(), names, work)
    for task in (a.finetune.split(',') if a.finetune else []): # minutes per fold on a CPU: only when asked
        r['recipes'][f'{task}: finetune'] = finetune_cv(photos, Path(a.food).resolve(), task, work)
    print(recipe_table_md(r['recipes']))
    if a.shift_only: Path(a.out).with_name('shift.json').write_text(json.dumps(r, indent=1)); return None
    os.environ['IMGCLS_CACHE'] = str(work/'features') # an empty feature cache: the 'features' column times computing them
    print('accuracy and label efficiency on cached features ...', file=sys.stderr)
    r['accuracy'] = accuracy_tables(photos, fns, labels, sources, tr, te, list(archs)[:1 if a.quick else 3], 5 if a.quick else 20)
    print('out-of-distribution methods ...', file=sys.stderr)
    r['ood'] = ood_table(photos, fns, labels, tr, te)
    r['training'] = {}
    base = ['--child', 'train', '--photos', photos, '--valid', valid, '--food', Path(a.food).resolve()]
    print('training, cold feature cache ...', file=sys.stderr)
    env = dict(IMGCLS_CACHE=str(work/'cache'))
    r['training']['fast, cold cache'] = run_child(base + ['--dest', work/'fast'], env)
    print('training, warm feature cache, then serving latency ...', file=sys.stderr)
    r['training']['fast, warm cache'] = run_child(base + ['--dest', work/'fast', '--latency', '--reps', 30 if a.quick else 100], env)
    if not a.quick:
        print('default training, `imgcls train --recipe auto` (minutes) ...', file=sys.stderr)
        r['training']['default: recipe auto, cold cache'] = run_child(base + ['--dest', work/'auto', '--mode', 'auto'], dict(IMGCLS_CACHE=str(work/'auto-cache')))
        print('fine-tuning (minutes) ...', file=sys.stderr)
        r['training']['finetune, 3 epochs'] = run_child(base + ['--dest', work/'finetune', '--mode', 'finetune'], env)
    print('serving cold start ...', file=sys.stderr)
    r['serving'] = dict(infer=serve_cold(photos, work/'fast', valid, 3 if a.quick else 5), app=app_cold(work/'fast', fns[te[0]]))
    return r

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--photos', default=str(here.parent.parent/'shared'/'datasets'/'photos'))
    p.add_argument('--out', default=str(here/'results.json'))
    p.add_argument('--quick', action='store_true')
    p.add_argument('--food', default=str(here.parent.parent/'shared'/'datasets'/'food'))
    p.add_argument('--shift-only', action='store_true', help='only the grouped cross-validation tables of both tasks')
    p.add_argument('--finetune', help='also measure the LP-FT fine-tune under the grouped split on these tasks (photos,food): minutes per fold')
    p.add_argument('--recipes', help='comma-separated candidate recipes to measure; default all (--quick: ' + ','.join(quick_recipes) + ')')
    p.add_argument('--child'); p.add_argument('--arch', default='efficientnet_lite0'); p.add_argument('--size', type=int, default=224)
    p.add_argument('--mode', default='fast'); p.add_argument('--epochs', type=int, default=3); p.add_argument('--dest'); p.add_argument('--valid')
    p.add_argument('--budget', type=float, default=240); p.add_argument('--latency', action='store_true'); p.add_argument('--reps', type=int, default=50); p.add_argument('--t0', type=float)
    a = p.parse_args()
    if a.child: return dict(train=child_train, serve=child_serve)[a.child](a)
    photos = Path(a.photos).resolve()
    if not (photos/'manifest.csv').exists(): sys.exit(f"no photos at {photos}: pass --photos (see ../shared/datasets/README)")
    with tempfile.TemporaryDirectory(prefix='imgcls-bench-') as work: r = bench(a, photos, Path(work))
    if r: Path(a.out).write_text(json.dumps(r, indent=1)); print(tables(r))

if __name__ == '__main__': main()
