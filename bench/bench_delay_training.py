"""Accuracy with no / fixed random / learned delays, and fixed masks vs rewiring at sparsity levels (not a test).

Groups of runs (each run trains with ``train_from_config(config, runs/delays/<name>, resume=True)``, so the
script can be stopped and started again: finished runs are read back from their directories, unfinished
ones continue from their last epoch):

``yinyang_delays``
    Yin-Yang (the bundled ``yinyang`` config: 5-120-3, tau_syn = tau_mem = 5 ms, 5,000 / 1,000 samples) for
    ``--epochs`` epochs (default 30; the published 300 are out of reach here) and seeds ``--seeds``:
    no delays; fixed random delays (``delay_init: uniform``, d ~ U(0, d_max), ``delay_lr_factor: 0``) and
    learned delays from the same start (``delay_lr_factor: 0.5``), axonal and synaptic, on every weight
    matrix, ``d_max = tau_syn``.
``digits_sparse``
    scikit-learn's 8x8 digits (the bundled ``digits_dale`` options with one hidden layer, 64-(90E+30I)-10, Dale's
    law) for ``--epochs-sparse`` epochs: a fixed random mask vs DEEP R removal + regrowth (``rewire_regrow``:
    ``rigl_signed`` and ``random``, ``rewire_l1`` 1e-4) at sparsity 0.5, 0.75, 0.875 (1 - 2^-k, k = 1, 2, 3),
    with Dale's law on and off (off: 120 free units; with rewiring every synapse keeps its initial sign).
``t0_delays``
    T0, synthetic timing patterns (:func:`t0_data`; 64 channels, 10 classes, 2,000 / 500 samples), 64-60-10:
    no delays, fixed random and learned synaptic delays, learned axonal delays, ``d_max = 20 ms``.
``t2_delays``
    T2, synthetic spoken digits (the bundled ``spoken_digits`` config: 128-(96E+32I)-20 under Dale's law, speaker-
    disjoint split ``data_seed`` 0, tau_syn = tau_mem = 5 ms, inputs in [0, 100 ms]): no delays, fixed random and
    learned synaptic delays on both matrices (``d_max = 100 ms``, the input span), ``--epochs`` epochs; plus no
    delays for 100 epochs (a control that the no-delay network is not just slower to train).
``t2_kinds``
    T2 as ``t2_delays`` with every delay kind: axonal (one delay per presynaptic unit, ``(n_in, 1)``) and dendritic
    (one per postsynaptic unit, ``(1, n_out)``), fixed random and learned, beside the no-delay and synaptic runs of
    ``t2_delays`` (the same run folders, read back).
``yinyang_ei``
    Yin-Yang under Dale's law, 5-(90E+30I)-3, synaptic delays fixed or learned, dense or with the hidden -> output
    matrix at sparsity 0.75 under DEEP R + signed RigL: the networks of the E/I structure analysis (``--ei``).

Results: ``bench/results/delays_<group>.json`` with, per run, its config, the history of every epoch, the test
accuracy of the selected (best validation) epoch, the wall-clock training time and, where it applies, the
delays' statistics and the active synapse counts; rewritten after each finished run.

Usage: nice -n 10 python bench/bench_delay_training.py [--groups yinyang_delays,digits_sparse]
       [--epochs 30] [--epochs-sparse 30] [--seeds 0,1] [--only NAME,...] [--list] [--table]
"""

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs" / "delays"
RESULTS = ROOT / "bench" / "results"
SPARSITIES = (0.5, 0.75, 0.875)
#: digits with one hidden layer (the bundled two-layer digits_dale network stays near chance when sparse): the
#: digits_dale options with 64-(90E+30I)-10 and its initialisation of the first and last matrices
DIGITS_1 = dict(hidden=[[90, 30]], weight_init_mean=[15.0, 0.0], weight_init_std=[19.0, 20.0],
                max_silent_fraction=[0.3, 0.0])


def yinyang_delays(epochs, seeds):
    runs = {}
    for seed in seeds:
        base = dict(epochs=epochs, seed=seed)
        runs[f"yy_none_s{seed}"] = dict(base)
        for kind in ("axonal", "synaptic"):
            d = dict(base, delay_kind=kind, delay_init="uniform")
            runs[f"yy_{kind}_fixed_s{seed}"] = dict(d, delay_lr_factor=0.0)
            runs[f"yy_{kind}_learned_s{seed}"] = dict(d, delay_lr_factor=0.5)
    return "yinyang", runs


def digits_sparse(epochs, seeds):
    runs = {}
    for seed in seeds:
        for dale in (True, False):
            tag = "dale" if dale else "free"
            base = dict(DIGITS_1, epochs=epochs, seed=seed)
            if not dale:
                base.update(dale=False, hidden=[[120, 0]], weight_init_inh_scale=1.0)
            runs[f"dg_{tag}_dense_s{seed}"] = dict(base)
            for p in SPARSITIES:
                k = round(-math.log2(1 - p))
                sp = dict(base, sparsity=p, rewire_l1=1e-4)
                runs[f"dg_{tag}_p{k}_fixed_s{seed}"] = dict(sp, rewire_regrow=None, rewire_l1=0.0)
                runs[f"dg_{tag}_p{k}_rigl_s{seed}"] = dict(sp, rewire_regrow="rigl_signed")
                runs[f"dg_{tag}_p{k}_random_s{seed}"] = dict(sp, rewire_regrow="random")
    return "digits_dale", runs


def yinyang_ei(epochs, seeds):
    """Dale's law on Yin-Yang (5-(90E+30I)-3) with synaptic delays, dense or sparse (DEEP R + signed RigL):
    the networks whose E/I structure :func:`ei_analysis` measures."""
    runs = {}
    for seed in seeds:
        base = dict(epochs=epochs, seed=seed, dale=True, hidden=[[90, 30]], delay_kind="synaptic",
                    delay_init="uniform")
        runs[f"yye_fixed_dense_s{seed}"] = dict(base, delay_lr_factor=0.0)
        runs[f"yye_learned_dense_s{seed}"] = dict(base, delay_lr_factor=0.5)
        # sparse hidden -> output only: 5 inputs are too few to share (at p = 0.75 most hidden units would get
        # one input or none, stay silent and have every batch bumped ten times)
        sp = dict(base, sparsity=[0.0, 0.75], rewire_regrow="rigl_signed", rewire_l1=1e-4)
        runs[f"yye_fixed_out2_rigl_s{seed}"] = dict(sp, delay_lr_factor=0.0)
        runs[f"yye_learned_out2_rigl_s{seed}"] = dict(sp, delay_lr_factor=0.5)
    return "yinyang", runs


#: T0, synthetic timing patterns (not a packaged dataset: generated here, digits-shaped so that the trainer takes
#: it as ``train_data``/``test_data``): 10 classes, 16 informative channels with class offsets o_kc ~ U(0, 15) ms
#: (fixed patterns), a common shift ~ U(0, 10) ms per sample, jitter N(0, 1.5^2) ms, 48 distractor channels
#: ~ U(0, 25) ms; times in [0, 30] ms coded as x = 1 - t / 30 (t_early 0, t_late 6 tau_syn).
T0 = dict(dataset="digits", hidden=[[60, 0]], dale=False, tau_syn_ms=5.0, tau_mem_ms=5.0, t_early=0.0, t_late=6.0,
          batch_size=50, lr=0.005, lr_step_epochs=50, lr_gamma=0.5, weight_init_mean=[1.5, 3.0],
          weight_init_std=[1.0, 2.0], init_calibrate_fraction=[0.5, 0.9], max_silent_fraction=[0.3, 0.05],
          val_fraction=0.1, keep_best=True, zero_never_spikes=False)


def t0_data(n, split):
    import numpy as np

    from synsem_ephys.train.data.base import LabelledData

    o = np.random.default_rng(1234).uniform(0, 15, (10, 16))
    r = np.random.default_rng([0, {"train": 0, "test": 1}[split]])
    y = r.integers(0, 10, n)
    t = np.concatenate([o[y] + r.uniform(0, 10, (n, 1)) + r.normal(0, 1.5, (n, 16)), r.uniform(0, 25, (n, 48))], axis=1)
    return LabelledData(1 - np.clip(t, 0, 30) / 30, y.astype(np.int64), 10, "digits", split,
                        tuple(str(k) for k in range(10)))


def t0_delays(epochs, seeds):
    runs = {}
    for seed in seeds:
        base = dict(T0, epochs=epochs, seed=seed)
        runs[f"t0_none_s{seed}"] = dict(base)
        d = dict(base, delay_max_ms=20.0, delay_init="uniform")
        runs[f"t0_synaptic_fixed_s{seed}"] = dict(d, delay_kind="synaptic", delay_lr_factor=0.0)
        runs[f"t0_synaptic_learned_s{seed}"] = dict(d, delay_kind="synaptic", delay_lr_factor=1.0)
        runs[f"t0_axonal_learned_s{seed}"] = dict(d, delay_kind="axonal", delay_lr_factor=1.0)
    return None, runs


def t2_delays(epochs, seeds):
    runs = {}
    for seed in seeds:
        base = {"epochs": epochs, "seed": seed}
        runs[f"t2_none_s{seed}"] = dict(base)
        runs[f"t2_none100ep_s{seed}"] = dict(base, epochs=100)
        d = dict(base, delay_kind="synaptic", delay_max_ms=100.0, delay_init="uniform")
        runs[f"t2_synaptic_fixed_s{seed}"] = dict(d, delay_lr_factor=0.0)
        runs[f"t2_synaptic_learned_s{seed}"] = dict(d, delay_lr_factor=1.0)
    return "spoken_digits", runs


def t2_kinds(epochs, seeds):
    """E1 on T2 for every delay kind: axonal (one delay per presynaptic unit) and dendritic (one per postsynaptic
    unit), fixed and learned, beside the no-delay and synaptic runs of ``t2_delays`` (the same run folders: read
    back, not retrained)."""
    _, runs = t2_delays(epochs, seeds)
    runs = {n: o for n, o in runs.items() if "100ep" not in n}
    for seed in seeds:
        d = {"epochs": epochs, "seed": seed, "delay_max_ms": 100.0, "delay_init": "uniform"}
        for kind in ("axonal", "dendritic"):
            runs[f"t2_{kind}_fixed_s{seed}"] = dict(d, delay_kind=kind, delay_lr_factor=0.0)
            runs[f"t2_{kind}_learned_s{seed}"] = dict(d, delay_kind=kind, delay_lr_factor=1.0)
    return "spoken_digits", runs


GROUPS = {"yinyang_delays": yinyang_delays, "digits_sparse": digits_sparse, "yinyang_ei": yinyang_ei,
          "t0_delays": t0_delays, "t2_delays": t2_delays, "t2_kinds": t2_kinds}


def ei_matrices(net, init, t_test, n_perm):
    """Per weight matrix of ``net`` (a trained network with delays) the E/I structure against the delay and
    Dale-preserving sign shuffles and ``init`` (its network at initialisation), and the arrival order of the causal
    E and I inputs on ``t_test`` (input times of the test split, through ``net``): the rows of the results files."""
    import numpy as np
    import torch

    from synsem_ephys.analysis.ei_structure import arrival_order, ei_statistics, receptive_field_centres

    ws, ss = net.weights_numpy()
    ds, w0, d0 = net.delays_numpy(), init.weights_numpy()[0], init.delays_numpy()
    t_in = torch.as_tensor(t_test, dtype=torch.float64)
    with torch.no_grad():  # the spikes the arrival order counts: the test split through the trained net
        layers = [t_in.numpy()] + [t.numpy() for t in net(t_in)]
    # space: the input index, then each unit's |W|-weighted receptive-field centre over the inputs (under
    # Dale's law the presynaptic index of a hidden layer lists E before I and would be trivially clustered)
    centres = receptive_field_centres(ws)
    out = []
    for l, (w, s, dl) in enumerate(zip(ws, ss, ds)):
        st = ei_statistics(w, dl, s, space=np.nan_to_num(centres[l], nan=-1.0), n_perm=n_perm, seed=l,
                           init_weights=w0[l], init_delays=d0[l])
        ar = arrival_order(layers[l], layers[l + 1], w, dl, s, n_perm=min(n_perm, 200), seed=l)
        out.append({"matrix": l, "space": "input index" if l == 0 else "receptive-field centre",
                    "summary": st.summary, "init_summary": st.init_summary,
                    "tests": st.rows(), "arrival": ar.summary,
                    "arrival_tests": [dict(t.__dict__) for t in ar.tests.values()],
                    "n_exc_mean": float(np.mean(st.n_exc)), "n_inh_mean": float(np.mean(st.n_inh))})
    return out


def ei_analysis(names, n_perm=500):
    """E/I structure (synsem_ephys.analysis.ei_structure) of finished runs: per weight matrix the statistics
    against the delay and Dale-preserving sign shuffles and the network at initialisation (the trainer's, with its
    mask and calibration), and the arrival order of the causal E and I inputs on the test split
    (:func:`ei_matrices`)."""
    from synsem_ephys.encoding import LatencyCode
    from synsem_ephys.sim import Network
    from synsem_ephys.train.config import TrainConfig
    from synsem_ephys.train.data import load_dataset
    from synsem_ephys.train.trainer import Trainer

    out = []
    for name in names:
        d = RUNS / name
        if not (d / "network.pt").exists():
            continue
        net = Network.load(d / "network.pt")
        cfg = TrainConfig.from_dict(net.extra["config"])
        init = Trainer(cfg, progress=False).network
        test = load_dataset(cfg.dataset, "test", data_dir=cfg.data_dir, seed=cfg.data_seed, n_samples=cfg.test_size)
        out.append({"name": name, "matrices": ei_matrices(net, init, LatencyCode.from_config(cfg).encode(test.x),
                                                          n_perm)})
        print(f"[{time.strftime('%H:%M:%S')}] E/I structure of {name}", flush=True)
    return out


def config_for(bundled, overrides):
    from synsem_ephys.train.config import TrainConfig, load_config

    if bundled is None:
        return TrainConfig.from_dict(dict(overrides))
    d = load_config(bundled).to_dict()
    d.update(overrides)
    return TrainConfig.from_dict(d)


def summarise(name, cfg, out_dir, seconds):
    """What one finished run gives: accuracies, history, delays and masks of its network."""
    import numpy as np

    from synsem_ephys.sim import Network

    metrics = json.loads((out_dir / "metrics.json").read_text())
    net = Network.load(out_dir / "network.pt")
    ws, _ = net.weights_numpy()
    row = {"name": name, "config": cfg.to_dict(), "test_accuracy": metrics["test_accuracy"],
           "selected_epoch": metrics["selected_epoch"], "epochs_done": len(metrics["history"]),
           "final_val_accuracy": metrics["history"][-1]["val_accuracy"] if metrics["history"] else None,
           "best_val_accuracy": max((m["val_accuracy"] for m in metrics["history"]), default=None),
           "train_seconds": sum(m["seconds"] for m in metrics["history"]), "wall_seconds_this_call": seconds,
           "history": metrics["history"],
           "n_weights": int(sum(w.size for w in ws)), "n_nonzero_weights": int(sum(int((w != 0).sum()) for w in ws)),
           "nonzero_per_postsynaptic": [float((w != 0).sum(axis=0).mean()) for w in ws],
           "n_delay_parameters": int(sum(v.numel() for v in net.delay_theta.values()))}
    ds = net.delays_numpy()
    row["delays_ms"] = [None if d is None else {"mean": float(d.mean()), "sd": float(d.std()), "min": float(d.min()),
                                                 "max": float(d.max())} for d in ds]
    if len(net.delay_theta):
        init = Network(net.spec, seed=cfg.seed, delay_init=cfg.delay_init)
        row["delay_change_ms"] = [None if d is None else float(np.abs(d - d0).mean())
                                  for d, d0 in zip(ds, init.delays_numpy())]
    return row


def write_results(group, rows, meta):
    from synsem_ephys._files import json_dumps, write_text_atomic

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"delays_{group}.json"
    write_text_atomic(path, json_dumps({"meta": meta, "runs": rows}))  # compact: the histories are long
    return path


def table(rows):
    lines = [f"{'run':34s} {'epochs':>6s} {'test acc':>9s} {'best val':>9s} {'sel':>4s} {'nnz/post':>14s} {'train s':>8s}"]
    for r in rows:
        nnz = "/".join(f"{x:.0f}" for x in r["nonzero_per_postsynaptic"])
        lines.append(f"{r['name']:34s} {r['epochs_done']:6d} {100 * r['test_accuracy']:8.2f}% "
                     f"{100 * r['best_val_accuracy']:8.2f}% {r['selected_epoch']:4d} {nnz:>14s} {r['train_seconds']:8.0f}")
    return "\n".join(lines)


def condition_table(rows):
    """Test accuracy per condition (the run name without its seed): mean, SD and the seeds' values."""
    import numpy as np

    by = {}
    for r in rows:
        by.setdefault(r["name"].rsplit("_s", 1)[0], []).append(r)
    lines = [f"{'condition':28s} {'n':>2s} {'test acc mean':>14s} {'sd':>6s}  per seed         {'train s':>8s}"]
    for cond, rs in by.items():
        acc = np.array([100 * r["test_accuracy"] for r in rs])
        sd = acc.std(ddof=1) if acc.size > 1 else float("nan")
        lines.append(f"{cond:28s} {acc.size:2d} {acc.mean():13.2f}% {sd:6.2f}  "
                     f"{' '.join(f'{a:.1f}' for a in acc):16s} {np.mean([r['train_seconds'] for r in rs]):8.0f}")
    return "\n".join(lines)


def paired_table(rows, ref):
    """Each condition minus condition ``ref`` on the same seed (percentage points): mean, SD and 95 % t CI."""
    import numpy as np
    from scipy import stats

    acc = {}
    for r in rows:
        cond, seed = r["name"].rsplit("_s", 1)
        acc.setdefault(cond, {})[seed] = 100 * r["test_accuracy"]
    lines = [f"{'condition - ' + ref:44s} {'n':>2s} {'mean':>7s} {'sd':>6s} {'95 % CI':>17s}"]
    for cond, d in acc.items():
        common = sorted(set(d) & set(acc.get(ref, {})))
        if cond == ref or not common:
            continue
        diff = np.array([d[s] - acc[ref][s] for s in common])
        sd = diff.std(ddof=1) if diff.size > 1 else float("nan")
        h = stats.t.ppf(0.975, diff.size - 1) * sd / np.sqrt(diff.size) if diff.size > 1 else float("nan")
        lines.append(f"{cond + ' - ' + ref:44s} {diff.size:2d} {diff.mean():+7.2f} {sd:6.2f} "
                     f"[{diff.mean() - h:+6.2f}, {diff.mean() + h:+6.2f}]")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--groups", default="yinyang_delays,digits_sparse")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--epochs-sparse", type=int, default=30)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--only", default=None, help="comma-separated run names (default: all of the groups)")
    ap.add_argument("--list", action="store_true", help="list the runs and exit")
    ap.add_argument("--table", action="store_true", help="only read finished runs and print the tables")
    ap.add_argument("--ei", action="store_true", help="then the E/I structure of the finished runs with delays "
                    "(bench/results/delays_ei.json)")
    ap.add_argument("--n-perm", type=int, default=500)
    ap.add_argument("--ei-seeds", default=None, help="seeds of the E/I analysis (default: --seeds)")
    ap.add_argument("--ei-name", default="ei", help="the E/I results go to bench/results/delays_<NAME>.json (default "
                    "ei: the Yin-Yang analysis already there; e.g. t2_ei for --groups t2_delays)")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    from synsem_ephys.train.trainer import train_from_config

    seeds = [int(s) for s in args.seeds.split(",")]
    only = None if args.only is None else set(args.only.split(","))
    for group in args.groups.split(","):
        epochs = args.epochs_sparse if group == "digits_sparse" else args.epochs
        bundled, runs = GROUPS[group](epochs, seeds)
        if args.list:
            for name, o in runs.items():
                print(group, name, o)
            continue
        path = RESULTS / f"delays_{group}.json"
        old = {r["name"]: r for r in json.loads(path.read_text())["runs"]} if path.exists() else {}
        rows = []
        meta = {"group": group, "bundled_config": bundled, "epochs": epochs, "seeds": seeds,
                "torch_threads": torch.get_num_threads(), "host_cpus": os.cpu_count(),
                "note": "shared 2-core machine: times are indicative only"}
        for name, overrides in runs.items():
            cfg = config_for(bundled, overrides)
            out = RUNS / name
            done = (out / "metrics.json").exists() and (out / "network.pt").exists() and \
                json.loads((out / "metrics.json").read_text()).get("history") and \
                len(json.loads((out / "metrics.json").read_text())["history"]) >= cfg.epochs
            if only is not None and name not in only and not done:
                if name in old:
                    rows.append(old[name])
                continue
            if args.table and not done:
                continue
            t0 = time.perf_counter()
            if not done:
                print(f"[{time.strftime('%H:%M:%S')}] {name}: training", flush=True)
                if bundled is None:  # T0: generated data, the trainer with train_from_config's resume
                    from synsem_ephys.train.trainer import CHECKPOINT_NAME, Trainer

                    ck = out / CHECKPOINT_NAME
                    Trainer(cfg, out, progress=False, train_data=t0_data(2000, "train"), test_data=t0_data(500, "test"),
                            resume_from=ck if ck.exists() else None).fit()
                else:
                    train_from_config(cfg, out, resume=True, progress=False)
            rows.append(summarise(name, cfg, out, time.perf_counter() - t0))
            print(f"[{time.strftime('%H:%M:%S')}] {name}: test {100 * rows[-1]['test_accuracy']:.2f} % "
                  f"({rows[-1]['train_seconds']:.0f} s)", flush=True)
            if not args.table:  # --table only reads: the results file keeps the times of the runs that made it
                write_results(group, rows, meta)
        if rows:
            print(table(rows))
            print(condition_table(rows))
            ref = {r["name"].rsplit("_s", 1)[0] for r in rows if r["name"].rsplit("_s", 1)[0].endswith("_none")}
            if ref:
                print(paired_table(rows, min(ref)))
    if args.ei and not args.list:
        ei_seeds = seeds if args.ei_seeds is None else [int(s) for s in args.ei_seeds.split(",")]
        names = [n for g in args.groups.split(",") if g != "t0_delays" for n in GROUPS[g](1, ei_seeds)[1]]
        rows = ei_analysis(names, args.n_perm)
        path = write_results(args.ei_name, rows, {"n_perm": args.n_perm, "runs": names, "definitions":
                                          __import__("synsem_ephys.analysis.ei_structure",
                                                     fromlist=["EI_DEFINITIONS"]).EI_DEFINITIONS})
        print("E/I structure:", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
