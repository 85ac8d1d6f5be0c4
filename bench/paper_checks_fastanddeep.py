"""The analyses of Kurth, Oberste-Frielinghaus et al. 2025 on the published fast-and-deep network, every definition.

Run: ``python bench/paper_checks_fastanddeep.py [RUN_DIR] [--mnist-dir DIR] [--shuffles 20]`` (default run folder:
``$SYNSEM_DATA/fastanddeep/mnist_eightlayer_seed1_daleslaw``). Prints per hidden layer the median IG of E and I
units under each definition of "active" (strict before the decision / at or before / any spike) and correction,
the packet spread (median of per-trial SDs and pooled, ddof 1), the class-pathway overlap against a null of
Dale-preserving weight shuffles and the pathway units' selectivity against the null's; writes the raw numbers
and the configuration to ``bench/results/paper_checks_fastanddeep.json``.
"""

import argparse
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synsem_ephys._files import data_root, json_dumps, write_text_atomic  # noqa: E402
from synsem_ephys.adapters import fastanddeep as fd  # noqa: E402
from synsem_ephys.analysis import information_gain, pulse_packets, summarize_by_group  # noqa: E402
from synsem_ephys.analysis.dispersion import dispersion  # noqa: E402
from synsem_ephys.analysis import pathway_null  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", nargs="?", default=str(data_root("fastanddeep", "mnist_eightlayer_seed1_daleslaw")))
    ap.add_argument("--mnist-dir", default="auto")
    ap.add_argument("--shuffles", type=int, default=20)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "paper_checks_fastanddeep.json"))
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    net = fd.load_network(a.run_dir)
    rec = fd.load_recording(a.run_dir, mnist_dir=a.mnist_dir)
    ws, signs = net.weights_numpy()
    t_load = time.perf_counter() - t0
    out = {"run_dir": a.run_dir, "n_trials": rec.n_trials, "shuffles": a.shuffles, "ig": {}, "spread": {}}
    layers = sorted(set(rec.units.layer[rec.units.cell_type == "E"].tolist()))
    print(f"{rec.n_trials} trials, hidden layers {layers}; loaded in {t_load:.2f} s")
    t0 = time.perf_counter()
    for active in ("before_decision", "decision", "any"):
        for corr, mat in (("none", 1), ("shuffle", 10)):
            ig = information_gain(rec, active=active, correction=corr, min_active_trials=mat, n_shuffles=200)
            summ = summarize_by_group(ig, rec)
            row = {ct: [next((s.median for s in summ if s.layer == l and s.cell_type == ct), float("nan")) for l in layers]
                   for ct in ("E", "I")}
            row["n_valid_E"] = [next((s.n_valid for s in summ if s.layer == l and s.cell_type == "E"), 0) for l in layers]
            out["ig"][f"{active}/{corr}/min{mat}"] = row
            print(f"IG {active:>15} {corr:>7} min_active {mat:>2}: E {np.round(row['E'], 3).tolist()}")
            print(f"{'':>44}I {np.round(row['I'], 3).tolist()}")
    t_ig = time.perf_counter() - t0
    for packet in ("before_decision", "decision"):
        pk = pulse_packets(dispersion(rec, packet=packet), ddof=1)
        hid = [i for i, l in enumerate(dispersion(rec, packet=None).group_layer) if l in layers]
        out["spread"][packet] = {"median": [pk.sigma_median_ms[i] for i in hid], "pooled": [pk.sigma_pooled_ms[i] for i in hid]}
        print(f"spread {packet:>15}: median {np.round(out['spread'][packet]['median'], 3).tolist()} ms")
        print(f"{'':>24}pooled {np.round(out['spread'][packet]['pooled'], 3).tolist()} ms")
    t0 = time.perf_counter()
    nul = pathway_null(ws, signs, rec, spec=net.spec, n_shuffles=a.shuffles, active="before_decision")
    t_null = time.perf_counter() - t0
    out["pathways"] = nul.to_dict()
    print("overlap (mean Jaccard)", np.round(nul.overlap, 3).tolist())
    print("null 5th percentile   ", np.round(nul.overlap_null_q05, 3).tolist())
    print("selectivity (own/other)", np.round(nul.selectivity, 3).tolist())
    print("null 95th percentile   ", np.round(nul.selectivity_null_q95, 3).tolist())
    out["seconds"] = {"load": t_load, "ig_all_definitions": t_ig, "pathway_null": t_null}
    print(f"IG (6 variants) {t_ig:.1f} s; pathway null ({a.shuffles} shuffles) {t_null:.1f} s")
    write_text_atomic(a.out, json_dumps(out, indent=1, nonfinite_to_none=True))
    print(f"written {a.out}")


if __name__ == "__main__":
    main()
