"""Benchmark (not a test): export of a large recording to a neo.Block and a NIX file; all-pairs STTC.

Recording: 10,000 trials x 1,610 units (four hidden layers of 300 E + 100 I, 10 outputs), at most one
spike per unit per trial, synthetic first-spike times drawn with numpy. Goals: export < 30 s and peak
memory < 1 GB. STTC: all pairs of one 400-unit layer over all trials with
:func:`synsem_ephys.analysis.sttc.sttc_matrix_trials`, against Elephant's per-pair
``spike_time_tiling_coefficient`` on the Block's SpikeTrains for a subset of pairs (its time per pair
extrapolated to all pairs) and our matrix on the same concatenated trains (same definition: one long
recording, gaps included); the ratio is printed, with the number of subset pairs where Elephant's
relative tolerance changed the result.

Usage: ``python bench/bench_neo.py [--trials N] [--elephant-trials N] [--pairs N] [--tracemalloc] [--out DIR]``
"""

import argparse
import gc
import os
import resource
import sys
import tempfile
import time
import tracemalloc
import warnings

import numpy as np


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def synthetic_layers(n_trials, spec, seed=0, p_fire=0.8):
    """First-spike times (ms, +inf = silent) per layer; the input layer left out (0 columns)."""
    rng = np.random.default_rng(seed)
    layers = [np.zeros((n_trials, 0))]
    for k, n in enumerate(spec.layer_sizes[1:], start=1):
        t = (5.0 * k + rng.gamma(4.0, 1.5, size=(n_trials, n))).astype(np.float64)
        t[rng.random((n_trials, n)) >= p_fire] = np.inf
        layers.append(t)
    return layers


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--elephant-trials", type=int, default=1_000,
                    help="trials of the Elephant comparison (its pair cost grows with n_spikes^2)")
    ap.add_argument("--pairs", type=int, default=20, help="pairs timed with Elephant")
    ap.add_argument("--dt-ms", type=float, default=1.0)
    ap.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    ap.add_argument("--out", default=None, help="directory of the NIX file (default: a temporary one)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")

    from synsem_ephys.analysis.sttc import sttc_matrix_spiketrains, sttc_matrix_trials
    from synsem_ephys.io import to_block, write_nix
    from synsem_ephys.record import SpikeRecord
    from synsem_ephys.spec import NetworkSpec

    spec = NetworkSpec(n_inputs=1, hidden=((300, 100),) * 4, n_outputs=10)
    pops = [p for p in spec.populations() if p.layer > 0]
    layers = synthetic_layers(args.trials, spec)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; trials {args.trials}, units {sum(p.size for p in pops)}")
    print(f"baseline peak RSS (imports + synthetic data): {peak_rss_mb():.0f} MB")
    if args.tracemalloc:
        tracemalloc.start()

    t0 = time.perf_counter()
    rec = SpikeRecord.from_layer_times(layers, pops, labels=np.arange(args.trials) % 10, meta={"spec_json": spec.to_json(), "seed": 0})
    t1 = time.perf_counter()
    del layers
    block = to_block(rec, name="bench")
    t2 = time.perf_counter()
    out_dir = args.out or tempfile.mkdtemp(prefix="bench_neo_")
    path = os.path.join(out_dir, "bench.nix")
    write_nix(block, path)
    t3 = time.perf_counter()
    traced = tracemalloc.get_traced_memory()[1] / 2**20 if args.tracemalloc else float("nan")
    print(f"spikes {rec.n_spikes:,}; units {rec.n_units}; trials {rec.n_trials}")
    print(f"SpikeRecord.from_layer_times {t1 - t0:6.2f} s")
    print(f"to_block                     {t2 - t1:6.2f} s")
    print(f"write_nix                    {t3 - t2:6.2f} s   ({os.path.getsize(path) / 2**20:.0f} MB on disk)")
    print(f"export total                 {t3 - t0:6.2f} s   (goal < 30 s)")
    print(f"peak RSS {peak_rss_mb():.0f} MB (goal < 1024 MB); tracemalloc peak {traced:.0f} MB")
    if args.tracemalloc:
        tracemalloc.stop()
    if not args.out:
        os.remove(path)
    del block
    gc.collect()  # neo objects reference each other (groups, segments): free them before the STTC part

    layer1 = np.flatnonzero(rec.units.layer == 1)
    t0 = time.perf_counter()
    res = sttc_matrix_trials(rec, args.dt_ms, units=layer1)
    ours_all = time.perf_counter() - t0
    n_pairs = len(layer1) * (len(layer1) - 1) // 2
    print(f"STTC matrix {len(layer1)} units x {rec.n_trials} trials ({n_pairs:,} pairs), dt {args.dt_ms} ms: {ours_all:.2f} s")

    # Elephant per pair, on the Block's concatenated SpikeTrains of the first --elephant-trials trials
    import quantities as pq
    from elephant.spike_train_correlation import spike_time_tiling_coefficient

    n_el = min(args.elephant_trials, rec.n_trials)
    sub = rec.select(units=layer1, trials=np.arange(n_el))
    trains = to_block(sub, gap_ms=4 * args.dt_ms).segments[0].spiketrains
    t0 = time.perf_counter()
    ours_sub = sttc_matrix_spiketrains(trains, args.dt_ms)  # same definition as Elephant: one long recording
    ours_sub_s = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    pairs = [tuple(rng.choice(len(layer1), 2, replace=False)) for _ in range(args.pairs)]
    t0 = time.perf_counter()
    vals = [spike_time_tiling_coefficient(trains[i], trains[j], dt=args.dt_ms * pq.ms) for i, j in pairs]
    el_per_pair = (time.perf_counter() - t0) / len(pairs)
    el_all = el_per_pair * n_pairs
    ours_vals = np.array([ours_sub.sttc[i, j] for i, j in pairs])
    differ = int(np.sum(~np.isclose(vals, ours_vals, atol=1e-9)))
    print(f"Elephant STTC on {n_el}-trial trains: {el_per_pair * 1e3:.1f} ms/pair -> {el_all:.0f} s for all {n_pairs:,} pairs; "
          f"ours {ours_sub_s:.2f} s for all pairs: ratio {el_all / ours_sub_s:.0f}x")
    print(f"  pairs where Elephant differs (its coincidence window grows with time, PR #706): {differ}/{len(pairs)}; "
          f"max |diff| {np.max(np.abs(np.asarray(vals) - ours_vals)):.3f}")
    print(f"peak RSS at end {peak_rss_mb():.0f} MB")
    return res


if __name__ == "__main__":
    main()
