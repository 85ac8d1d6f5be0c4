"""Unitary events: analysis.unitary_event_analysis (all pairs at once) vs Elephant's jointJ_window_analysis pair by pair.

Same process, same spikes, Elephant's defaults (bin 5 ms, windows of 100 ms every 5 ms, analytic_TrialByTrial).
Cases: one pair over 1,000 trials of 1 s, and a population of 20 units (190 pairs) over 100 trials of 1 s (Elephant
timed on ``--elephant-pairs`` of the pairs, its time per pair scaled to all 190; the first pairs only, since every
pair costs Elephant the same loop over windows and trials). Elephant's time counts its call only, not the building
of the neo.SpikeTrains it needs (reported apart). Every Elephant result is compared with ours (n_emp equal, n_exp and
Js to Elephant's float32 rounding). A third case, 100 units (4,950 pairs) over 500 trials, times ours alone.

Run: ``OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python bench/bench_unitary_events.py --out bench/results/unitary_events.json``
"""

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

import numpy as np

from synsem_ephys.analysis import unitary_event_analysis
from synsem_ephys.record import SpikeRecord, TrialTable, UnitTable

BIN, WIN, STEP = 5.0, 100.0, 5.0


def population(n_units, n_trials, duration_ms, rate_hz, seed, sync_per_trial):
    """Poisson units; units 0 and 1 share Poisson(``sync_per_trial``) extra spikes per trial in [400, 500) ms,
    0.5 ms apart (a few significant windows there)."""
    rng = np.random.default_rng(seed)
    n = rng.poisson(rate_hz * duration_ms / 1000.0, size=(n_trials, n_units))
    trial = np.repeat(np.repeat(np.arange(n_trials), n_units), n.ravel())
    unit = np.repeat(np.tile(np.arange(n_units), n_trials), n.ravel())
    t = rng.uniform(0, duration_ms, trial.size)
    k = rng.poisson(sync_per_trial, n_trials)
    ct = np.repeat(np.arange(n_trials), k)
    c = rng.uniform(400.0, 499.0, ct.size)
    t = np.concatenate([t, c, c + 0.5])
    unit = np.concatenate([unit, np.zeros(c.size, int), np.ones(c.size, int)])
    trial = np.concatenate([trial, ct, ct])
    return SpikeRecord(t, unit, trial, UnitTable.simple(n_units), TrialTable(np.zeros(n_trials, int)), duration_ms)


def best_of(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def elephant_pairs(record, pairs):
    """Elephant pair by pair: seconds to build its SpikeTrains, seconds of its calls, its results."""
    import elephant.unitary_event_analysis as uea
    import neo
    import quantities as pq

    order = np.lexsort((record.times_ms, record.unit_index, record.trial_index))
    t, u, r = record.times_ms[order], record.unit_index[order], record.trial_index[order]
    t_build = t_call = 0.0
    results = []
    for i, j in pairs:
        t0 = time.perf_counter()
        sts = []
        for trial in range(record.n_trials):
            row = []
            for unit in (i, j):
                sel = (r == trial) & (u == unit)
                row.append(neo.SpikeTrain(t[sel] * pq.ms, t_start=0 * pq.ms, t_stop=record.trial_duration_ms * pq.ms))
            sts.append(row)
        t1 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = uea.jointJ_window_analysis(sts, bin_size=BIN * pq.ms, win_size=WIN * pq.ms, win_step=STEP * pq.ms,
                                             method="analytic_TrialByTrial")
        t_call += time.perf_counter() - t1
        t_build += t1 - t0
        results.append(res)
    return t_build, t_call, results


def compare(ours, k, res):
    """Max differences of one pair against Elephant's output (float32)."""
    ne, nx, js = res["n_emp"][:, 0], res["n_exp"][:, 0], res["Js"][:, 0]
    fin = np.isfinite(js) & np.isfinite(ours.surprise[k])
    return {
        "n_emp_equal": bool(np.array_equal(ne, ours.n_emp[k])),
        "n_exp_max_rel": float(np.max(np.abs(nx - ours.n_exp[k]) / np.maximum(np.abs(ours.n_exp[k]), 1e-300))),
        "Js_max_abs": float(np.max(np.abs(js[fin] - ours.surprise[k][fin]))) if fin.any() else 0.0,
        "Js_nonfinite_same": bool(np.array_equal(js[~fin], ours.surprise[k][~fin])),
    }


def ours_only(name, record, repeat):
    ours_s, ours = best_of(lambda: unitary_event_analysis(record, bin_ms=BIN, win_ms=WIN, winstep_ms=STEP), repeat)
    print(f"{name}: ours {ours_s:.2f} s for {ours.n_pairs} pairs x {ours.n_windows} windows (no Elephant run)")
    return {"case": name, "n_units": record.n_units, "n_trials": record.n_trials, "n_pairs": ours.n_pairs,
            "n_windows": ours.n_windows, "n_spikes": record.n_spikes, "ours_s": ours_s}


def case(name, record, n_elephant, repeat):
    ours_s, ours = best_of(lambda: unitary_event_analysis(record, bin_ms=BIN, win_ms=WIN, winstep_ms=STEP), repeat)
    pairs = ours.pairs[:n_elephant]
    t_build, t_call, results = elephant_pairs(record, pairs)
    checks = [compare(ours, k, res) for k, res in enumerate(results)]
    per_pair = t_call / len(pairs)
    elephant_all = per_pair * ours.n_pairs
    row = {
        "case": name, "n_units": record.n_units, "n_trials": record.n_trials, "duration_ms": record.trial_duration_ms,
        "n_pairs": ours.n_pairs, "n_windows": ours.n_windows, "n_spikes": record.n_spikes,
        "ours_s": ours_s, "elephant_pairs_timed": len(pairs), "elephant_s_per_pair": per_pair,
        "elephant_s_all_pairs": elephant_all, "elephant_build_spiketrains_s": t_build,
        "speedup": elephant_all / ours_s,
        "all_n_emp_equal": all(c["n_emp_equal"] for c in checks),
        "max_n_exp_rel": max(c["n_exp_max_rel"] for c in checks),
        "max_Js_abs": max(c["Js_max_abs"] for c in checks),
        "nonfinite_Js_same": all(c["Js_nonfinite_same"] for c in checks),
        "significant_windows_pair01": int(ours.significant[0].sum()),
    }
    scaled = "" if len(pairs) == ours.n_pairs else f" (timed {len(pairs)} pairs, scaled)"
    print(f"{name}: ours {ours_s * 1e3:.1f} ms for {ours.n_pairs} pairs x {ours.n_windows} windows; Elephant "
          f"{elephant_all:.1f} s{scaled} + {t_build:.1f} s building SpikeTrains; speed-up {row['speedup']:.0f}x; "
          f"n_emp equal {row['all_n_emp_equal']}, n_exp rel {row['max_n_exp_rel']:.1e}, Js abs {row['max_Js_abs']:.1e}")
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--elephant-pairs", type=int, default=20, help="pairs of the population case timed in Elephant")
    ap.add_argument("--repeat", type=int, default=3, help="runs of ours (best taken)")
    ap.add_argument("--rate-hz", type=float, default=20.0)
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args()
    import elephant.unitary_event_analysis  # noqa: F401  (its ~3 s import outside the timings)

    rows = [
        case("1 pair x 1000 trials x 1 s", population(2, 1000, 1000.0, args.rate_hz, 0, 0.05), 1, args.repeat),
        case("20 units (190 pairs) x 100 trials x 1 s", population(20, 100, 1000.0, args.rate_hz, 1, 0.3),
             args.elephant_pairs, args.repeat),
        ours_only("100 units (4950 pairs) x 500 trials x 1 s", population(100, 500, 1000.0, args.rate_hz, 2, 0.1),
                  args.repeat),
    ]
    out = {"bench": "unitary_events", "date": time.strftime("%Y-%m-%d"), "machine": platform.machine(),
           "params": {"bin_ms": BIN, "win_ms": WIN, "winstep_ms": STEP, "method": "analytic_TrialByTrial",
                      "rate_hz": args.rate_hz},
           "rows": rows}
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
