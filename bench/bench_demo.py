"""Time the main job (``synsem-ephys demo``) per phase, several runs in one process, and write the JSON.

Prints the demo's own phases (load, simulate, nix = write + read back, report) and the report's steps
(``summary.json`` "seconds": each analysis and the writing of the files), the median over ``--repeat`` runs
after a first warm-up run is reported separately (it pays the imports: torch, Elephant, matplotlib).
Absolute times depend on the machine and its load; compare phases with each other and with a baseline
measured in the same process (``--baseline`` runs a module's older function beside the new one).

Run: ``OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python bench/bench_demo.py --repeat 3 --out bench/results/demo.json``;
``--baseline-src DIR`` alternates cold runs of an older version (``git archive REV synsem_ephys | tar -x -C DIR``)
with this one's, for a ratio measured under the same load.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one_run(out_dir, threads=None):
    from synsem_ephys.demo import run_demo

    if threads:
        from synsem_ephys.parallel import set_threads

        set_threads(threads)
    t0 = time.perf_counter()
    res = run_demo(out_dir, progress=False)
    wall = time.perf_counter() - t0
    summary = json.loads(Path(res.report.summary).read_text())
    return {"wall_s": wall, "demo": dict(res.seconds), "report": dict(summary.get("seconds", {})),
            "accuracy": res.accuracy}


def cold_cli(out_dir, src=None):
    """The command as a user runs it: a fresh interpreter, imports included; ``src``: a directory holding another
    version's ``synsem_ephys`` package (e.g. ``git archive OLD synsem_ephys | tar -x -C DIR``), run instead."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(Path(src).resolve())
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "synsem_ephys.cli", "demo", "--out", str(out_dir), "--no-progress"],
                   check=True, stdout=subprocess.DEVNULL, env=env, cwd=src or None)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cold", type=int, default=1, help="also time this many fresh `synsem-ephys demo` processes")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--baseline-src", default=None,
                    help="directory with an older synsem_ephys package: its cold CLI runs alternate with this one's")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args()
    base = []
    with tempfile.TemporaryDirectory() as tmp:
        cold = []
        for k in range(args.cold):
            if args.baseline_src:
                base.append(cold_cli(Path(tmp) / f"base{k}", args.baseline_src))
            cold.append(cold_cli(Path(tmp) / f"cold{k}"))
        first = one_run(Path(tmp) / "warm0", args.threads)
        runs = [one_run(Path(tmp) / f"run{k}", args.threads) for k in range(args.repeat)]

    def med(get):
        return round(statistics.median(get(r) for r in runs), 3)

    phases = {k: med(lambda r, k=k: r["demo"][k]) for k in runs[0]["demo"]}
    steps = {k: med(lambda r, k=k: r["report"].get(k, float("nan"))) for k in runs[0]["report"]}
    out = {"when": time.strftime("%Y-%m-%d %H:%M"), "load_1min": os.getloadavg()[0], "threads": args.threads,
           "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "cold_cli_s": [round(c, 2) for c in cold],
           "baseline_src": args.baseline_src, "baseline_cold_cli_s": [round(c, 2) for c in base],
           "baseline_over_new": (round(statistics.median(base) / statistics.median(cold), 2) if base else None),
           "first_in_process_s": round(first["wall_s"], 2), "median_wall_s": med(lambda r: r["wall_s"]),
           "phases_s": phases, "report_steps_s": steps, "runs": runs}
    if base:
        print(f"baseline cold CLI {out['baseline_cold_cli_s']} s; baseline / new {out['baseline_over_new']}")
    print(f"cold CLI {out['cold_cli_s']} s; in process: first {out['first_in_process_s']} s, "
          f"median of {args.repeat} {out['median_wall_s']} s (load {out['load_1min']:.1f})")
    for k, v in phases.items():
        print(f"  {k:<10} {v:7.2f} s")
    for k, v in steps.items():
        print(f"    report: {k[:60]:<60} {v:6.2f} s")
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
