"""Test accuracy of trained delay networks with their delays rounded to a time grid (not a test).

Mészáros, Knight & Nowotny (2024) train continuous delay positions and evaluate with them rounded to integer
taps. Here: the learned-delay runs of ``bench/bench_delay_training.py`` (Yin-Yang ``yy_{axonal,synaptic}_learned``
and T0 ``t0_{axonal,synaptic}_learned``, seeds 0-2; trained by that script under ``runs/delays/<name>`` if
missing) are evaluated on their test split with ``Trainer.evaluate("test", round_delays_ms=q)``
(:attr:`synsem_ephys.sim.Network.round_delays_ms`: every delay the nearest grid point ``k q`` in ``[0, d_max]``)
for q = none (continuous), the paper's grid, 0.5, 1 and 2 ms.

The paper's grid in this project's units: Paper A's membrane time constant is 10.05 taps (spec seed002 §A), so
one tap is ``tau_mem / 10.05``: 0.4975 ms at tau_mem = 5 ms (both tasks here). The delays' range: Yin-Yang
``d_max = tau_syn = 5 ms`` (the rounded delays take 6 values at q = 1 ms), T0 ``d_max = 20 ms``.

Results: ``bench/results/delays_rounding.json`` (per run: the accuracy per grid, the recorded accuracy of the
training script's results file, the mean |rounding change| of the delays).

``--groups t2_delays``: the T2 spoken-digit runs ``t2_synaptic_learned`` (``d_max = 100 ms``), written to
``bench/results/delays_rounding_t2.json`` (the default groups keep ``delays_rounding.json``).

Usage: nice -n 19 python bench/bench_delay_rounding.py [--train] [--groups yinyang_delays,t0_delays]
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_delay_training as B  # noqa: E402

PAPER_TAPS_PER_TAU_MEM = 10.05
GRIDS_MS = ("paper", 0.5, 1.0, 2.0)


#: group -> (epochs, delay kinds, run-name prefix)
GROUPS = {"yinyang_delays": (30, ("axonal", "synaptic"), "yy"), "t0_delays": (20, ("axonal", "synaptic"), "t0"),
          "t2_delays": (20, ("synaptic",), "t2")}


def runs(groups=("yinyang_delays", "t0_delays")):
    out = []
    for group in groups:
        epochs, kinds, prefix = GROUPS[group]
        bundled, rs = B.GROUPS[group](epochs, [0, 1, 2])
        for kind in kinds:
            for seed in (0, 1, 2):
                name = f"{prefix}_{kind}_learned_s{seed}"
                out.append((group, bundled, name, B.config_for(bundled, rs[name])))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", action="store_true", help="train the runs that are missing (resumable)")
    ap.add_argument("--groups", default="yinyang_delays,t0_delays", help=f"comma-separated, of {list(GROUPS)}")
    args = ap.parse_args(argv)
    groups = tuple(args.groups.split(","))
    if not set(groups) <= set(GROUPS):
        ap.error(f"--groups: expected names from {list(GROUPS)}; got {args.groups!r}")
    result = "delays_rounding.json" if set(groups) <= {"yinyang_delays", "t0_delays"} else \
        f"delays_rounding_{'_'.join(GROUPS[g][2] for g in groups)}.json"

    import numpy as np
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    from synsem_ephys._files import json_dumps, write_text_atomic
    from synsem_ephys.sim import Network
    from synsem_ephys.train.trainer import CHECKPOINT_NAME, Trainer, train_from_config

    recorded = {}
    for group in groups:
        path = B.RESULTS / f"delays_{group}.json"
        if path.exists():
            recorded.update({r["name"]: r["test_accuracy"] for r in json.loads(path.read_text())["runs"]})
    rows = []
    for group, bundled, name, cfg in runs(groups):
        out = B.RUNS / name
        t0 = time.perf_counter()
        if not (out / "network.pt").exists():
            if not args.train:
                print(f"{name}: not trained (pass --train)", flush=True)
                continue
            data = {} if bundled is not None else dict(train_data=B.t0_data(2000, "train"),
                                                       test_data=B.t0_data(500, "test"))
            if data:
                ck = out / CHECKPOINT_NAME
                Trainer(cfg, out, progress=False, resume_from=ck if ck.exists() else None, **data).fit()
            else:
                train_from_config(cfg, out, resume=True, progress=False)
        net = Network.load(out / "network.pt")
        data = {} if bundled is not None else dict(train_data=B.t0_data(2000, "train"), test_data=B.t0_data(500, "test"))
        tr = Trainer(cfg, progress=False, **data)
        with torch.no_grad():
            for a, b in zip(tr._params(), [*net.weights, *net.delay_theta.values()]):
                a.copy_(b)
        paper = cfg.tau_mem_ms / PAPER_TAPS_PER_TAU_MEM
        acc, change = {}, {}
        cont = tr.network.delays_numpy()
        for q in (None,) + GRIDS_MS:
            step = paper if q == "paper" else q
            key = "continuous" if q is None else ("paper" if q == "paper" else f"{q:g} ms")
            acc[key] = tr.evaluate("test", round_delays_ms=step)[1]
            if step is not None:
                with tr.network.rounded_delays(step):
                    rd = tr.network.delays_numpy()
                change[key] = float(np.mean([np.abs(r - c).mean() for r, c in zip(rd, cont) if c is not None]))
        rows.append({"name": name, "group": group, "delay_kind": cfg.delay_kind[0], "seed": cfg.seed,
                     "delay_max_ms": list(cfg.network_spec().delay_max_ms), "paper_grid_ms": paper,
                     "test_accuracy": acc, "recorded_test_accuracy": recorded.get(name),
                     "mean_abs_rounding_change_ms": change, "seconds": round(time.perf_counter() - t0, 1)})
        print(name, {k: round(100 * v, 2) for k, v in acc.items()}, "recorded",
              None if recorded.get(name) is None else round(100 * recorded[name], 2), flush=True)
        write_text_atomic(B.RESULTS / result,
                          json_dumps({"meta": {"grids_ms": ["continuous", *GRIDS_MS], "paper_taps_per_tau_mem":
                                               PAPER_TAPS_PER_TAU_MEM, "note": "test split of each run; "
                                               "rounded after training (no rounding-aware training)"},
                                      "runs": rows}, indent=1))
    print(table(rows))
    return 0


def table(rows):
    import numpy as np

    keys = ["continuous", "paper", "0.5 ms", "1 ms", "2 ms"]
    lines = [f"{'condition':24s} " + " ".join(f"{k:>16s}" for k in keys)]
    by = {}
    for r in rows:
        by.setdefault(r["name"].rsplit("_s", 1)[0], []).append(r)
    for cond, rs in by.items():
        cells = []
        for k in keys:
            a = np.array([100 * r["test_accuracy"][k] for r in rs])
            cells.append(f"{a.mean():7.2f} +- {a.std(ddof=1) if a.size > 1 else float('nan'):4.2f}")
        lines.append(f"{cond:24s} " + " ".join(f"{c:>16s}" for c in cells))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
