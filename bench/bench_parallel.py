"""Scale-out: analysis of N recordings and a sweep of small networks with 1 and 2 workers, in one process tree.

Run: ``python bench/bench_parallel.py [--recordings 8] [--seeds 4]``. Prints wall times, the speed-up of 2
workers (process pool) over the serial run, and the overhead per task (a pool of 2 on 2 trivial tasks), and
writes them with the configuration to ``bench/results/parallel.json``. On a 2-core machine the ceiling is 2x.
"""

import argparse
import concurrent.futures
import multiprocessing
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from helpers import sim_record  # noqa: E402
from synsem_ephys._files import json_dumps, write_text_atomic  # noqa: E402
from synsem_ephys.io import write_nix  # noqa: E402
from synsem_ephys.parallel import map_tasks  # noqa: E402
from synsem_ephys.report import ReportOptions, analyze_many  # noqa: E402
from synsem_ephys.train import TrainConfig, sweep  # noqa: E402


def _noop(x):
    return x


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recordings", type=int, default=8)
    ap.add_argument("--seeds", type=int, default=4)
    a = ap.parse_args(argv)
    out = {"recordings": a.recordings, "seeds": a.seeds}
    opts = ReportOptions(n_shuffles=100, complexity_trials=0, n_pathway_shuffles=0)
    cfg = TrainConfig(dataset="yinyang", train_size=400, test_size=200, epochs=3, hidden=[[30, 0]], val_fraction=0.0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        files = [write_nix(sim_record(n_trials=200, seed=s)[0], tmp / f"r{s}.nix") for s in range(a.recordings)]
        pool = concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
        map_tasks(_noop, [0, 1], executor=pool)  # start the workers
        t0 = time.perf_counter()
        map_tasks(_noop, list(range(50)), executor=pool)
        out["overhead_ms_per_task"] = (time.perf_counter() - t0) / 50 * 1000
        for name, ex in (("serial", None), ("pool2", pool)):
            t0 = time.perf_counter()
            analyze_many(files, tmp / f"a_{name}", options=opts, graphml=False, executor=ex)
            out[f"analyze_{name}_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            sweep(cfg, tmp / f"s_{name}", seeds=range(a.seeds), executor=ex)
            out[f"sweep_{name}_s"] = time.perf_counter() - t0
        pool.shutdown()
    out["analyze_speedup"] = out["analyze_serial_s"] / out["analyze_pool2_s"]
    out["sweep_speedup"] = out["sweep_serial_s"] / out["sweep_pool2_s"]
    for k, v in out.items():
        print(f"{k:>24}: {v:.3f}" if isinstance(v, float) else f"{k:>24}: {v}")
    write_text_atomic(ROOT / "bench" / "results" / "parallel.json", json_dumps(out, indent=1))


if __name__ == "__main__":
    main()
