"""Benchmark (not a test): the NIX round trip of the demo recording against the NWB round trip, in one process.

Recording: the shipped network on its 1,000 bundled test images (``synsem-ephys demo``'s recording: 1,000
trials x 2,394 units, ~1.4 M spikes). Timed, best of ``--repeat``: ``write_nix`` + ``read_nix_record`` (straight
from and into the record, io/canonical.py + io/_nix_h5/ + io/_nix_record.py, HDF5 through its C API; the
write atomic and the read in its forked child as the demo does), ``write_nwb`` + ``read_nwb``; the parts of
the NIX round trip once each ("of which"); with ``--h5py`` the same HDF5 calls through h5py instead of the C
API, with ``--block`` the path through a neo Block (``to_block`` + ``write_block``, ``read_blocks`` +
``from_block``: what write_nix / read_nix_record did before issue 24's second round), with ``--neo`` the path
through ``neo.io.NixIO``. Ratios are against NWB. Goal (issue 24): NIX round trip within 3x of the NWB round trip.

Usage: ``python bench/bench_nix.py [--repeat N] [--h5py] [--block] [--neo] [--profile] [--json FILE]``
"""

import argparse
import os
import sys
import tempfile
import time
import warnings


def demo_record():
    import numpy as np
    import torch

    from synsem_ephys import demo
    from synsem_ephys.sim import Network
    from synsem_ephys.train.config import TrainConfig

    path = demo._shipped_paths()[0]
    net = Network.load(path)
    cfg = TrainConfig.from_dict(net.extra["config"])
    t_in, labels = demo._test_inputs(cfg, None, None)
    with torch.no_grad():
        rec = net.record(torch.as_tensor(t_in), labels=labels,
                         meta={"dataset": cfg.dataset, "network_file": path.name,
                               "label_names": [str(k) for k in range(net.spec.n_outputs)]})
    return rec, float(np.mean(rec.trials.prediction == labels))


def best(f, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--neo", action="store_true", help="also time the neo.io.NixIO path (~1 min)")
    ap.add_argument("--h5py", action="store_true", help="also time the HDF5 calls through h5py, not its C API")
    ap.add_argument("--block", action="store_true", help="also time the path through a neo Block")
    ap.add_argument("--profile", action="store_true", help="cProfile of one fast NIX write and read")
    ap.add_argument("--json", help="also write the rows, ratios and file sizes to this JSON file")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    from synsem_ephys.io import (
        _nix_h5,
        _nix_record,
        from_block,
        nix,
        read_nix_record,
        read_nwb,
        to_block,
        write_nix,
        write_nwb,
    )
    from synsem_ephys.io._nix_h5 import reader as h5_reader
    from synsem_ephys.io.canonical import canonical_block

    rec, _ = demo_record()
    d = tempfile.mkdtemp(prefix="bench_nix_")
    nix_path, nwb_path = os.path.join(d, "r.nix"), os.path.join(d, "r.nwb")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
          f"{rec.n_trials} trials x {rec.n_units} units, {rec.n_spikes:,} spikes")
    rows = {}
    rows["nwb write"] = best(lambda: write_nwb(rec, nwb_path), args.repeat)
    rows["nwb read"] = best(lambda: read_nwb(nwb_path), args.repeat)
    rows["nix write"] = best(lambda: write_nix(rec, nix_path), args.repeat)
    rows["nix read"] = best(lambda: read_nix_record(nix_path), args.repeat)
    sizes = {"nix": os.path.getsize(nix_path), "nwb": os.path.getsize(nwb_path)}
    plan = _nix_h5.plan_of_canonical(canonical_block(rec))
    read = _nix_h5.read_plans(nix_path)[0]
    rows["  of which record -> plan"] = best(lambda: _nix_h5.plan_of_canonical(canonical_block(rec)), 1)
    rows["  of which h5 write"] = best(lambda: _nix_h5.write_plan(plan, nix_path + ".b"), 1)
    rows["  of which h5 read"] = best(lambda: _nix_h5.read_plans(nix_path), 1)
    rows["  of which plan -> record"] = best(lambda: _nix_record.record_of(read), 1)
    if args.h5py:
        rows["h5 write through h5py"] = best(lambda: _nix_h5.write_plan(plan, nix_path + ".b", "h5py"), 1)
        rows["h5 read through h5py"] = best(lambda: h5_reader._read_plans(nix_path, True, "h5py"), 1)
    if args.block:
        rows["block path write"] = best(lambda: _nix_h5.write_block(to_block(rec), nix_path + ".b"), 1)
        rows["block path read"] = best(lambda: from_block(_nix_h5.read_blocks(nix_path)[0]), 1)
    if args.neo:
        from neo.io import NixIO

        def neo_write():
            io = nix._fast_nixio_class()(nix_path + ".neo", mode="ow")
            io.write_block(to_block(rec))
            io.close()

        def neo_read():
            with NixIO(nix_path + ".neo", mode="ro") as io:
                from_block(io.read_all_blocks()[0])

        rows["neo.NixIO write (before)"] = best(neo_write, 1)
        rows["neo.NixIO read (before)"] = best(neo_read, 1)
    nwb = rows["nwb write"] + rows["nwb read"]
    for k, v in rows.items():
        print(f"{k:28s} {v:7.2f} s")
    print(f"round trip: NWB {nwb:.2f} s, NIX {rows['nix write'] + rows['nix read']:.2f} s = "
          f"{(rows['nix write'] + rows['nix read']) / nwb:.2f}x NWB (write {rows['nix write'] / rows['nwb write']:.2f}x, "
          f"read {rows['nix read'] / rows['nwb read']:.2f}x); files: NIX {sizes['nix'] / 1e6:.0f} MB, "
          f"NWB {sizes['nwb'] / 1e6:.0f} MB")
    if args.neo:
        before = rows["neo.NixIO write (before)"] + rows["neo.NixIO read (before)"]
        print(f"before (neo.io.NixIO): {before:.2f} s = {before / nwb:.1f}x NWB")
    if args.json:
        import json
        import time as _time

        out = {"date": _time.strftime("%Y-%m-%d %H:%M"), "load_1min": os.getloadavg()[0], "repeat": args.repeat,
               "recording": {"trials": rec.n_trials, "units": rec.n_units, "spikes": int(rec.n_spikes)},
               "seconds_best_of_repeat": {k.strip(): round(v, 3) for k, v in rows.items()},
               "ratio_nix_over_nwb": {"write": rows["nix write"] / rows["nwb write"],
                                      "read": rows["nix read"] / rows["nwb read"],
                                      "round_trip": (rows["nix write"] + rows["nix read"]) / nwb},
               "file_bytes": sizes}
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
    if args.profile:
        import cProfile
        import pstats

        for label, stmt in (("write", lambda: _nix_h5.write_plan(plan, nix_path + ".b")),
                            ("read", lambda: _nix_h5.read_plans(nix_path))):
            prof = cProfile.Profile()
            prof.runcall(stmt)
            print(f"--- profile: h5 {label}")
            pstats.Stats(prof).sort_stats("tottime").print_stats(8)


if __name__ == "__main__":
    main()
