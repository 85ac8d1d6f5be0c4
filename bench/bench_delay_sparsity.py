"""Fixed mask vs rewiring across sparsity, fixed vs learned delays, Dale on and off (Paper A's Fig. 3 analogue,
the spec's E2; not a test).

Tasks (both temporal, 64 inputs, 10 classes; generated here, no download; sized for a 2-core machine: 5 epochs, T0 with 1,000 training samples):

``t0``
    T0, synthetic timing patterns (``bench_delay_training.t0_data``: 16 informative channels with class offsets,
    a common shift per sample, jitter, 48 distractor channels; 2,000 / 500 samples).
``t2``
    T2, synthetic spoken digits (the bundled dataset ``spoken_digits``: 128 inputs, one spike each in [0, 100 ms],
    20 classes, speaker-disjoint split ``data_seed`` 0: 1,920 / 480 samples), 128-(96E+32I)-20 (Dale off:
    128-128-20), with the ``spoken_digits`` config's code and loss (``t_late`` 20, ``beta`` 5, lr 0.01) and
    ``d_max = 100 ms``, the input span (:data:`T2`).
``t1``
    T1, row-scanned 8x8 digits (:func:`t1_data`): rows are time (row r fires at r * 2.5 ms), columns are space;
    unit (column c, level k = 1..8) fires at the first row whose pixel is >= k / 8 of full scale, or never
    (``zero_never_spikes``); scikit-learn's digits, 1,438 / 359 samples (the project's stratified split).

Network 64-128-10: Dale on 64-(96E+32I)-10, Dale off 64-128-10 (free signs; under rewiring a synapse keeps its
initial sign). Synaptic delays on both matrices, d ~ U(0, 20 ms) at initialisation, fixed (``delay_lr_factor`` 0)
or learned (1.0). Sparsity p (uniform, every matrix) in {0, 1/2, 3/4, 7/8, 15/16, 31/32}: a fixed random mask or
DEEP R removal + signed-RigL regrowth (``rewire_l1`` 1e-4). At p = 31/32 the 64 inputs leave 2 synapses per
hidden unit and the 128 hidden units 4 per output unit; p = 63/64 would leave 1 per hidden unit and is not run.

Each run: ``Trainer(cfg, runs/delay_sparsity/<name>, train_data=..., test_data=..., resume_from=checkpoint)``;
finished runs (metrics.json with every epoch) are read back, unfinished ones resume from their last epoch, so the
script can be stopped and started again. Results: ``bench/results/delays_sparsity_<task>.json`` (per run: its
config, history, test accuracy of the best-validation epoch, training time, active synapses per postsynaptic
neuron), rewritten after each run; ``--ei``: the E/I structure of the learned-delay Dale networks at the highest
sparsity (``bench/results/delays_sparsity_ei.json``).

Usage: OMP_NUM_THREADS=1 nice -n 19 python bench/bench_delay_sparsity.py [--tasks t0,t1] [--epochs 5] [--n-train 1000]
       [--seeds 0,1,2] [--sparsities 0,0.5,...] [--only NAME,...] [--list] [--table] [--ei]
"""

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
RUNS = Path(os.environ.get("DELAY_SPARSITY_RUNS", ROOT / "runs" / "delay_sparsity"))
RESULTS = ROOT / "bench" / "results"
SPARSITIES = (0.0, 0.5, 0.75, 0.875, 0.9375, 0.96875)

#: the shared options: the T0 options of bench_delay_training with a 128-unit hidden layer, lr 0.02 and batches of
#: 25 (0.005 / 50 left a Dale network at 46 % after 5 epochs; 0.02 / 25 reaches 96 % dense)
BASE = dict(dataset="digits", tau_syn_ms=5.0, tau_mem_ms=5.0, t_early=0.0, t_late=6.0, batch_size=25, lr=0.02,
            lr_step_epochs=50, lr_gamma=0.5, weight_init_mean=[1.5, 3.0], weight_init_std=[1.0, 2.0],
            init_calibrate_fraction=[0.5, 0.9], max_silent_fraction=[0.3, 0.05], val_fraction=0.1, keep_best=True,
            delay_kind="synaptic", delay_max_ms=20.0, delay_init="uniform")
DALE = {True: dict(dale=True, hidden=[[96, 32]]), False: dict(dale=False, hidden=[[128, 0]])}


def t1_data(split):
    """T1: row-scanned 8x8 digits, 8 columns x 8 levels = 64 units, one spike at the first row (x 2.5 ms) whose
    pixel reaches the level, none if no row does; coded as x = 1 - t / 30 ms (x = 0: no spike)."""
    import numpy as np

    from synsem_ephys.train.data import load_digits
    from synsem_ephys.train.data.base import LabelledData

    d = load_digits(split, seed=0)
    img = d.x.reshape(-1, 8, 8)                                    # (n, row, column), values k / 16
    levels = np.arange(1, 9) / 8.0
    reach = img[:, :, :, None] >= levels - 1e-9                    # (n, row, column, level)
    any_ = reach.any(axis=1)
    first = np.argmax(reach, axis=1).astype(np.float64)           # first row reaching the level
    t = np.where(any_, first * 2.5, np.inf).reshape(len(d), 64)    # column-major over (column, level)
    x = np.where(np.isfinite(t), 1.0 - t / 30.0, 0.0)
    return LabelledData(x, d.y, 10, "digits", split, d.class_names)


#: T0 training-set size (``--n-train``; bench_delay_training uses 2,000)
N_TRAIN = {"t0": 2000}


#: T2's overrides of BASE (the bundled spoken_digits config's code, loss scale and rate; d_max = the input span)
T2 = {"dataset": "spoken_digits", "t_late": 20.0, "beta": 5.0, "lr": 0.01, "delay_max_ms": 100.0}


def task_data(task):
    from bench_delay_training import t0_data

    if task == "mnist":  # the trainer loads MNIST itself (the config's dataset, from SYNSEM_DATA)
        return None, None, {}
    if task == "t2":
        from synsem_ephys.train.data import load_spoken_digits

        return load_spoken_digits("train", seed=0), load_spoken_digits("test", seed=0), {}
    if task == "t0":
        return t0_data(N_TRAIN["t0"], "train"), t0_data(500, "test"), {}
    return t1_data("train"), t1_data("test"), {"zero_never_spikes": True}


#: MNIST at the highest sparsities (the issue's levels up to 1 - 2^-9 = 0.998, which T0-T2's 64-128 inputs cannot
#: hold: at 0.998 a 128-input unit keeps 0.25 synapses): sparsity on the input matrix only (the 400 -> 10 readout at
#: 0.998 would keep 8 synapses for 10 units), no delays
MNIST_SPARSITIES = (0.0, 0.9375, 0.984375, 0.99609375, 0.998046875)


def mnist_runs(epochs, seeds, sparsities):
    """MNIST 784-(300E+100I)-10 under Dale's law, the bundled ``mnist_dale`` config with one hidden layer (its
    code, loss, init of the first two matrices, float32), ``sparsity [p, 0]``, a fixed mask or DEEP R + signed RigL
    (``rewire_l1`` 1e-4), ``rewire_rescale`` (the dense init leaves a unit with one or two synapses silent)."""
    from bench_delay_training import config_for

    runs = {}
    for seed in seeds:
        base = dict(hidden=[[300, 100]], weight_init_mean=[15.0, 0.0], weight_init_std=[230.0, 100.0],
                    max_silent_fraction=[0.3, 0.0], epochs=epochs, seed=seed)
        for p in sparsities:
            if p == 0:
                runs[f"mnist_dale_dnone_p0_dense_s{seed}"] = dict(base)
                continue
            k = round(-math.log2(1 - p))
            sp = dict(base, sparsity=[p, 0.0], rewire_rescale=True)
            runs[f"mnist_dale_dnone_p{k}_fixed_s{seed}"] = dict(sp, rewire_regrow=None, rewire_l1=0.0)
            runs[f"mnist_dale_dnone_p{k}_rigl_s{seed}"] = dict(sp, rewire_regrow="rigl_signed", rewire_l1=1e-4)
    return {n: config_for("mnist_dale", o).to_dict() for n, o in runs.items()}


def runs_of(task, epochs, seeds, sparsities, dales=(True, False)):
    runs = {}
    extra = {"zero_never_spikes": True} if task == "t1" else T2 if task == "t2" else {}
    for seed in seeds:
        for dale in dales:
            for delays, lrf in (("dfix", 0.0), ("dlrn", 1.0)):
                base = dict(BASE, **DALE[dale], **extra, epochs=epochs, seed=seed, delay_lr_factor=lrf)
                tag = f"{task}_{'dale' if dale else 'free'}_{delays}"
                for p in sparsities:
                    if p == 0:
                        runs[f"{tag}_p0_dense_s{seed}"] = dict(base)
                        continue
                    k = round(-math.log2(1 - p))
                    sp = dict(base, sparsity=p)
                    runs[f"{tag}_p{k}_fixed_s{seed}"] = dict(sp, rewire_regrow=None, rewire_l1=0.0)
                    runs[f"{tag}_p{k}_rigl_s{seed}"] = dict(sp, rewire_regrow="rigl_signed", rewire_l1=1e-4)
    return runs


#: the locust odour task (train.data.locust: 30 inputs = 10 units x first 3 spike latencies in a 500 ms window,
#: 10 odour groups, 250 trials): 30-60-10, free signs, the 500 ms window on [0, 30 ms], d_max 20 ms
LOCUST = dict(dataset="locust", hidden=[[60, 0]], dale=False, tau_syn_ms=5.0, tau_mem_ms=5.0, t_early=0.0, t_late=6.0,
              zero_never_spikes=True, batch_size=10, lr=0.01, lr_step_epochs=50, lr_gamma=0.5,
              weight_init_mean=[1.5, 3.0], weight_init_std=[1.0, 2.0], init_calibrate_fraction=[0.5, 0.9],
              max_silent_fraction=[0.3, 0.05], val_fraction=0.0, keep_best=False)
#: (no validation split: 10 % of 200 trials is 20, too few to select an epoch by; the last epoch is reported)


def locust_runs(epochs, seeds, folds):
    """No / fixed random / learned synaptic delays; network seed x cross-validation fold (data_seed)."""
    runs = {}
    for fold in folds:
        for seed in seeds:
            base = dict(LOCUST, epochs=epochs, seed=seed, data_seed=fold)
            runs[f"locust_none_f{fold}_s{seed}"] = dict(base)
            d = dict(base, delay_kind="synaptic", delay_max_ms=20.0, delay_init="uniform")
            runs[f"locust_fixed_f{fold}_s{seed}"] = dict(d, delay_lr_factor=0.0)
            runs[f"locust_learned_f{fold}_s{seed}"] = dict(d, delay_lr_factor=1.0)
    return runs


def locust_baselines(folds):
    """Logistic regression and 1-NN on the same features, on spike counts in the window, and on 'which of the
    30 latency slots hold a spike' (binary), per fold (scikit-learn, standardised features)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from synsem_ephys.train.data import load_dataset

    out = {}
    for fold in folds:
        tr, te = (load_dataset("locust", s, seed=fold) for s in ("train", "test"))
        feats = {"latencies": lambda x: x, "binary (which slots fire)": lambda x: (x > 0).astype(float),
                 "count of the first 3 (rate proxy)": lambda x: (x.reshape(len(x), 10, 3) > 0).sum(axis=2)}
        for fname, f in feats.items():
            for cname, clf in (("logistic", LogisticRegression(max_iter=2000, C=1.0)),
                               ("1-NN", KNeighborsClassifier(1))):
                m = make_pipeline(StandardScaler(), clf).fit(f(tr.x), tr.y)
                out.setdefault(f"{cname} on {fname}", []).append(float(m.score(f(te.x), te.y)))
    from synsem_ephys.train.data import load_locust_odours

    counts = load_locust_odours("all").class_counts()
    return {"chance_largest_class": float(counts.max() / counts.sum()), "per_fold": out,
            "mean": {k: float(np.mean(v)) for k, v in out.items()}}


def summarise(name, cfg, out_dir, seconds):
    from synsem_ephys.sim import Network

    metrics = json.loads((out_dir / "metrics.json").read_text())
    net = Network.load(out_dir / "network.pt")
    ws, _ = net.weights_numpy()
    h = metrics["history"]
    return {"name": name, "config": cfg.to_dict(), "test_accuracy": metrics["test_accuracy"],
            "selected_epoch": metrics["selected_epoch"], "epochs_done": len(h),
            "best_val_accuracy": max((m["val_accuracy"] for m in h), default=None),
            "train_seconds": sum(m["seconds"] for m in h), "wall_seconds_this_call": seconds, "history": h,
            "n_weights": int(sum(w.size for w in ws)), "n_nonzero_weights": int(sum(int((w != 0).sum()) for w in ws)),
            "nonzero_per_postsynaptic": [float((w != 0).sum(axis=0).mean()) for w in ws],
            "min_nonzero_per_postsynaptic": [int((w != 0).sum(axis=0).min()) for w in ws]}


def is_done(out, cfg):
    m = out / "metrics.json"
    if not (m.exists() and (out / "network.pt").exists()):
        return False
    h = json.loads(m.read_text()).get("history") or []
    return len(h) >= cfg.epochs


def write_results(task, rows, meta):
    from synsem_ephys._files import json_dumps, write_text_atomic

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / (f"delays_{task}.json" if task.startswith("locust") else f"delays_sparsity_{task}.json")
    write_text_atomic(path, json_dumps({"meta": meta, "runs": rows}))
    return path


def _cond(name):
    return name.rsplit("_s", 1)[0]


def paired_ci(diff, level=0.95):
    """Mean and t-based CI of paired differences (NaN half-width with one pair)."""
    import numpy as np
    from scipy import stats

    diff = np.asarray(diff, dtype=float)
    m = float(diff.mean())
    if diff.size < 2:
        return m, float("nan")
    return m, float(stats.t.ppf(0.5 + level / 2, diff.size - 1) * diff.std(ddof=1) / math.sqrt(diff.size))


def grid_table(rows, task):
    """Markdown: per (Dale, delays, p) fixed-mask and rewiring accuracy (mean +- SD over seeds), the paired
    rewiring - fixed difference with its 95 % t CI, and active synapses per hidden / output unit."""
    import numpy as np

    acc = {}
    nnz = {}
    for r in rows:
        acc.setdefault(_cond(r["name"]), {})[int(r["name"].rsplit("_s", 1)[1])] = 100 * r["test_accuracy"]
        nnz.setdefault(_cond(r["name"]), []).append(r["nonzero_per_postsynaptic"])
    lines = [f"| {task} | delays | p | synapses / post (hidden, output) | fixed mask | rewiring | rewiring - fixed "
             "(95 % CI) | seeds |", "|---|---|---|---|---|---|---|---|"]
    for dale in ("dale", "free"):
        for dl in ("dfix", "dlrn", "dnone"):
            for p in sorted(set(SPARSITIES) | set(MNIST_SPARSITIES)):
                k = 0 if p == 0 else round(-math.log2(1 - p))
                pre = f"{task}_{dale}_{dl}_p{k}"
                fx = acc.get(f"{pre}_dense" if k == 0 else f"{pre}_fixed", {})
                rw = acc.get(f"{pre}_rigl", {}) if k else {}
                if not fx and not rw:
                    continue
                key = f"{pre}_dense" if k == 0 else f"{pre}_fixed"
                nz = np.mean(nnz.get(key, [[float("nan")] * 2]), axis=0)

                def ms(d):
                    if not d:
                        return "-"
                    v = np.array(list(d.values()))
                    return f"{v.mean():.1f} ± {v.std(ddof=1):.1f}" if v.size > 1 else f"{v.mean():.1f}"

                common = sorted(set(fx) & set(rw))
                if common:
                    m, h = paired_ci([rw[s] - fx[s] for s in common])
                    dif = f"{m:+.1f} [{m - h:+.1f}, {m + h:+.1f}]"
                else:
                    dif = "-"
                seeds = sorted(set(fx) | set(rw))
                lines.append(f"| {'Dale' if dale == 'dale' else 'free'} | "
                             f"{ {'dfix': 'fixed', 'dlrn': 'learned', 'dnone': 'none'}[dl]} | "
                             f"{p:g} | {nz[0]:.1f}, {nz[1]:.1f} | {ms(fx)} | {ms(rw)} | {dif} | {len(seeds)} |")
    return "\n".join(lines)


def locust_table(rows):
    """Markdown: per condition the test accuracy over folds x seeds (mean +- SD; the SD of the fold means), and
    the paired (same fold and seed) difference to no delays with a 95 % t CI over the pairs."""
    import numpy as np

    acc = {}
    for r in rows:
        cond, fs = r["name"].split("_")[1], "_".join(r["name"].split("_")[2:])
        acc.setdefault(cond, {})[fs] = 100 * r["test_accuracy"]
    lines = ["| delays | runs (folds x seeds) | test accuracy | SD | SD of fold means | minus no delays (95 % CI) | "
             "train s / run |", "|---|---|---|---|---|---|---|"]
    secs = {}
    for r in rows:
        secs.setdefault(r["name"].split("_")[1], []).append(r["train_seconds"])
    for cond, d in acc.items():
        v = np.array(list(d.values()))
        folds = {}
        for k, a in d.items():
            folds.setdefault(k.split("_")[0], []).append(a)
        fm = np.array([np.mean(x) for x in folds.values()])
        common = sorted(set(d) & set(acc.get("none", {})))
        dif = "-"
        if cond != "none" and common:
            m, h = paired_ci([d[k] - acc["none"][k] for k in common])
            dif = f"{m:+.1f} [{m - h:+.1f}, {m + h:+.1f}]"
        lines.append(f"| {cond} | {v.size} | {v.mean():.1f} | {v.std(ddof=1) if v.size > 1 else float('nan'):.1f} | "
                     f"{fm.std(ddof=1) if fm.size > 1 else float('nan'):.1f} | {dif} | {np.mean(secs[cond]):.0f} |")
    return "\n".join(lines)


def ei_analysis(task_rows, n_perm=200, k=None):
    """E/I structure (analysis.ei_structure.ei_statistics, its delay and Dale-preserving sign shuffles and the
    network at initialisation) of the learned-delay Dale networks at the highest sparsity run (or 1 - 2^-k), fixed
    and rewired, and the arrival order of their causal E and I inputs on the test split
    (:func:`bench_delay_training.ei_matrices`)."""
    from bench_delay_training import ei_matrices

    from synsem_ephys.encoding import LatencyCode
    from synsem_ephys.sim import Network
    from synsem_ephys.train.config import TrainConfig
    from synsem_ephys.train.trainer import Trainer

    out = []
    for task, rows in task_rows.items():
        names = [r["name"] for r in rows if "_dale_dlrn_" in r["name"] and "_p0_" not in r["name"]]
        if not names:
            continue
        kmax = max(int(n.split("_p")[1].split("_")[0]) for n in names) if k is None else k
        train, test, _ = task_data(task)
        for name in sorted(n for n in names if f"_p{kmax}_" in n):
            net = Network.load(RUNS / name / "network.pt")
            cfg = TrainConfig.from_dict(net.extra["config"])
            init = Trainer(cfg, progress=False, train_data=train, test_data=test).network
            out.append({"name": name, "task": task, "sparsity": cfg.sparsity,
                        "matrices": ei_matrices(net, init, LatencyCode.from_config(cfg).encode(test.x), n_perm)})
            print(f"[{time.strftime('%H:%M:%S')}] E/I structure of {name}", flush=True)
    return out


def ei_table(ei, stats=("delta_delay_ms", "moran_delay", "frac_inh_later", "delta_space", "moran_space",
                        "delta_arrival_ms", "frac_inh_later_arrival")):
    """Markdown: per run and matrix with E and I inputs, each statistic's observed value and its z / p against
    every null."""
    lines = ["| run | matrix | E, I inputs / post | statistic | observed | z, p per null |", "|---|---|---|---|---|---|"]
    for r in ei:
        for m in r["matrices"]:
            if m["n_inh_mean"] == 0:
                continue
            for st in stats:
                ts = [t for t in m["tests"] + m.get("arrival_tests", []) if t["statistic"] == st]
                if not ts:
                    continue
                zp = "; ".join(f"{t['null']} {t['z']:+.1f}, {t['p']:.2f}" for t in ts)
                lines.append(f"| {r['name']} | {m['matrix']} | {m['n_exc_mean']:.1f}, {m['n_inh_mean']:.1f} | {st} | "
                             f"{ts[0]['observed']:.3f} | {zp} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", default="t0,t1")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--sparsities", default=None, help="comma-separated p (default: "
                    + ",".join(f"{p:g}" for p in SPARSITIES) + "; mnist: "
                    + ",".join(f"{p:g}" for p in MNIST_SPARSITIES) + ")")
    ap.add_argument("--only", default=None, help="comma-separated run names (default: all)")
    ap.add_argument("--tag", default="", help="a second grid of a task: run names <task><TAG>_... and results "
                    "bench/results/delays_sparsity_<task><TAG>.json (e.g. --tag _e20 for 20 epochs)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--table", action="store_true", help="only read finished runs and print the tables")
    ap.add_argument("--ei", action="store_true", help="the E/I structure of the highest-sparsity Dale networks "
                    "with learned delays (bench/results/delays_sparsity_<--ei-name>.json)")
    ap.add_argument("--ei-name", default="ei", help="the E/I results go to bench/results/delays_sparsity_<NAME>.json "
                    "(default ei: the T0 analysis already there; e.g. t2_ei for --tasks t2)")
    ap.add_argument("--n-perm", type=int, default=200)
    ap.add_argument("--ei-k", type=int, default=None, help="--ei on the runs at sparsity 1 - 2^-K (default: the "
                    "highest finished)")
    ap.add_argument("--dale", default="on,off", help="Dale's law on, off or both (on,off)")
    ap.add_argument("--n-train", type=int, default=1000, help="T0 training samples (validation 10 %% of them)")
    ap.add_argument("--locust", action="store_true", help="the locust odour task instead (no / fixed / learned "
                    "delays; bench/results/delays_locust_runs.json)")
    ap.add_argument("--folds", default="0,1,2,3,4")
    ap.add_argument("--rewrite", action="store_true", help="with --table: rewrite the results file from the "
                    "finished runs (after several processes shared the grid)")
    args = ap.parse_args(argv)
    N_TRAIN["t0"] = args.n_train

    import torch

    torch.set_num_threads(1)
    from synsem_ephys.train.config import TrainConfig
    from synsem_ephys.train.trainer import CHECKPOINT_NAME, Trainer, train_from_config

    seeds = [int(s) for s in args.seeds.split(",")]
    sparsities = None if args.sparsities is None else [float(p) for p in args.sparsities.split(",")]
    only = None if args.only is None else set(args.only.split(","))
    all_rows = {}
    tasks = ["locust"] if args.locust else args.tasks.split(",")
    for task in tasks:
        task_sparsities = sparsities or (MNIST_SPARSITIES if task == "mnist" else SPARSITIES)
        if task == "locust":
            runs = locust_runs(args.epochs, seeds, [int(f) for f in args.folds.split(",")])
        elif task == "mnist":
            runs = mnist_runs(args.epochs, seeds, task_sparsities)
        else:
            dales = [{"on": True, "off": False}[v] for v in args.dale.split(",")]
            runs = runs_of(task, args.epochs, seeds, task_sparsities, dales)
        if args.tag and task != "locust":  # a second grid of the same task (e.g. longer training): its own names
            runs = {n.replace(f"{task}_", f"{task}{args.tag}_", 1): o for n, o in runs.items()}
        name_task = task + (args.tag if task != "locust" else "")
        if args.list:
            for name, o in runs.items():
                print(name, {k: o[k] for k in ("sparsity", "rewire_regrow", "delay_lr_factor", "dale") if k in o})
            print(len(runs), "runs")
            continue
        path = RESULTS / (f"delays_sparsity_{name_task}.json" if task != "locust" else "delays_locust_runs.json")
        old = {r["name"]: r for r in json.loads(path.read_text())["runs"]} if path.exists() else {}
        meta = {"task": task, "tag": args.tag, "epochs": args.epochs, "t0_n_train": args.n_train, "seeds": seeds,
                "sparsities": task_sparsities,
                "torch_threads": torch.get_num_threads(), "host_cpus": os.cpu_count(),
                "note": "shared 2-core machine, nice 19: times are indicative only"}
        train = test = None
        rows = [r for n, r in old.items() if n not in runs]  # keep results of runs outside this call's grid
        for name, overrides in runs.items():
            cfg = TrainConfig.from_dict(dict(overrides))
            out = RUNS / name
            done = is_done(out, cfg)
            if (only is not None and name not in only and not done) or (args.table and not done):
                if name in old:
                    rows.append(old[name])
                continue
            t0 = time.perf_counter()
            if not done and task == "locust":
                print(f"[{time.strftime('%H:%M:%S')}] {name}: training", flush=True)
                train_from_config(cfg, out, resume=True, progress=False)
            elif not done:
                if train is None:
                    train, test, _ = task_data(task)
                print(f"[{time.strftime('%H:%M:%S')}] {name}: training", flush=True)
                ck = out / CHECKPOINT_NAME
                Trainer(cfg, out, progress=False, train_data=train, test_data=test,
                        resume_from=ck if ck.exists() else None).fit()
            rows.append(summarise(name, cfg, out, time.perf_counter() - t0))
            print(f"[{time.strftime('%H:%M:%S')}] {name}: test {100 * rows[-1]['test_accuracy']:.2f} % "
                  f"({rows[-1]['train_seconds']:.1f} s)", flush=True)
            if not args.table or args.rewrite:  # --table only reads (a running sweep owns the file)
                write_results(name_task if task != "locust" else "locust_runs", rows, meta)
        all_rows[task] = rows
        if rows and task == "locust":
            meta["baselines"] = locust_baselines([int(f) for f in args.folds.split(",")])
            if not args.table or args.rewrite:
                write_results("locust_runs", rows, meta)
            print(json.dumps(meta["baselines"]["mean"], indent=1))
            print(locust_table(rows))
        elif rows:
            print(grid_table(rows, name_task))
    if args.ei and not args.list:
        ei = ei_analysis(all_rows, args.n_perm, args.ei_k)
        from synsem_ephys.analysis.ei_structure import EI_DEFINITIONS

        p = write_results(args.ei_name, ei, {"n_perm": args.n_perm, "tasks": sorted(all_rows),
                                             "definitions": EI_DEFINITIONS})
        print("E/I structure:", p)
        print(ei_table(ei))
    return 0


if __name__ == "__main__":
    sys.exit(main())
