"""The one view model of a report: an :class:`~synsem_ephys.report.run.AnalysisResult` as a JSON-ready dict.

``summary.json`` and ``report.html`` are both rendered from it (NaN and infinities become ``null``).
"""

from dataclasses import asdict

import numpy as np

from .._files import to_jsonable

__all__ = ["summary_dict"]


def _units_block(res):
    """The per-unit table with its definitions (None for a layered network)."""
    u, h = res.units, res.psth
    if u is None:
        return None
    return {"active": u.definition, "correction": u.correction, "n_shuffles": u.n_shuffles,
            "min_active_trials": u.min_active_trials, "refractory_ms": u.refractory_ms,
            "total_duration_ms": u.total_duration_ms, "class_names": list(u.class_names),
            "definitions": {
                "rate_hz": "every spike of the unit / the summed duration of all trials",
                "cv_isi": "SD / mean of the within-trial inter-spike intervals (ddof 1)",
                "isi_violation_fraction": f"within-trial ISIs shorter than {u.refractory_ms:g} ms / all ISIs",
                "ig": "information gain about the class when active (see 'information'), with its shuffle p",
                "preferred": "the class with the highest P(active | class), ties to the lowest"},
            "rows": u.rows(),
            "psth": None if h is None else {"bin_ms": h.bin_ms, "class_names": list(h.class_names),
                                            "definition": h.definition},
            "sttc": None if res.sttc is None else _sttc_block(res.sttc)}


def _sttc_block(c):
    """STTC per condition: the definition, the units, the mean over pairs and the matrices (NaN -> null)."""
    return {"definition": c.definition, "dt_ms": c.dt_ms, "class_names": list(c.class_names),
            "n_trials": c.n_trials.tolist(), "units": c.unit_names.tolist(), "mean_pair": c.mean_pair.tolist(),
            "matrices": np.round(c.sttc, 4).tolist()}


def _signal_block(info):
    """Tuning curves against the named signal and their information, with the definitions."""
    from .run import signal_rows

    tc = info.tuning
    rows = [dict(unit=str(u), **r) for u, r in zip(tc.unit_names, signal_rows(info))]
    return {"name": tc.signal, "unit": tc.unit, "channel": tc.channel, "bin_edges": tc.edges,
            "occupancy_s": tc.occupancy_s, "spikes": tc.definition, "n_shuffles": info.n_shuffles,
            "min_shift_ms": info.min_shift_ms, "seed": info.seed,
            "definitions": {**tc.definitions, **info.definitions}, "rows": rows}


def _delays_block(sec):
    """Delay distributions per matrix and E/I type, and the E/I structure statistics with their nulls."""
    from ..analysis.ei_structure import EI_DEFINITIONS, EI_NULLS

    dist = sec["distributions"]
    mats = [{"matrix": l, "bin_edges_ms": e, "counts": {k: v.tolist() for k, v in c.items()},
             "space": sec["space"][l]} for l, e, c in zip(dist.matrices, dist.edges_ms, dist.counts)]
    init_dist = sec.get("initial_distributions")
    if init_dist is not None:
        by = dict(zip(init_dist.matrices, init_dist.counts))
        for m in mats:
            m["counts_initial"] = {k: v.tolist() for k, v in by.get(m["matrix"], {}).items()}
    ei = []
    for l, st in sec["ei"].items():
        row = {"matrix": l, "space": sec["space"][l], "summary": st.summary,
               "n_exc_mean": float(np.mean(st.n_exc)), "n_inh_mean": float(np.mean(st.n_inh)),
               "delay_mean_exc_ms": st.delay_mean_exc_ms, "delay_mean_inh_ms": st.delay_mean_inh_ms,
               "tests": st.rows()}
        if st.init_summary is not None:  # the third null: the statistic at initialisation, and now minus it
            row["initial"] = dict(st.init_summary)
            row["change_from_initial"] = {k: v - st.init_summary[k] for k, v in st.summary.items()
                                          if k in st.init_summary}
        ei.append(row)
    arrival = []
    for l, (ao, n_trials) in sec.get("arrival", {}).items():
        arrival.append({"matrix": l, "n_trials": int(n_trials), "summary": ao.summary,
                        "mean_exc_ms": _nanmean(ao.mean_exc_ms), "mean_inh_ms": _nanmean(ao.mean_inh_ms),
                        "tests": [dict(t.__dict__) for t in ao.tests.values()]})
    nulls = {"delay_shuffle": "the delays of each unit permuted among its active synapses (weights, types kept)",
             "sign_shuffle": "Dale-preserving: the E/I labels of the constrained presynaptic units permuted "
                             "(counts kept); free rows: each unit's active types permuted"}
    src = sec.get("initial_source")
    if src is not None:
        nulls["initial"] = ("the network at initialisation (" + src + "): the same statistics on its weights and "
                            "delays (space: its own receptive-field centres), before training; not a permutation "
                            "(no z, no p): the statistic now, at initialisation, and now minus then")
    return {"synapses": dist.synapses, "definitions": {**dist.definitions, **EI_DEFINITIONS},
            "nulls": nulls, "null_names": list(EI_NULLS), "initial": src,
            "by_type": dist.rows, "by_type_initial": None if init_dist is None else init_dist.rows,
            "matrices": mats, "ei_structure": ei or None,
            "arrival_order": None if not arrival else {
                "spikes": "the first spike of every presynaptic unit in the trial plus the synapse's delay "
                          "(arrival a_ij = t_i + d_ij); causal: the active synapses whose arrival is before the "
                          "postsynaptic unit's first spike; (trial, unit) pairs with causal E and I inputs",
                "nulls": "the same permutation nulls (delay_shuffle, sign_shuffle) with the observed postsynaptic "
                         "spike times kept (no re-simulation)",
                "matrices": arrival}}


def _nanmean(x):
    x = np.asarray(x, np.float64)
    ok = ~np.isnan(x)
    return float(x[ok].mean()) if ok.any() else float("nan")


def summary_dict(res):
    """The machine-readable summary of an :class:`AnalysisResult` (JSON-ready; NaN -> null)."""
    d = res.dispersion
    disp = []
    for g, name in enumerate(d.group_names):
        row = {"group": name, "layer": int(d.group_layer[g]), "n_units": int(d.group_size[g]),
               "all_sd_ms_median": res.packets_all.sigma_median_ms[g], "all_iqr_ms_median": res.packets_all.iqr_median_ms[g],
               "all_median_ms": res.packets_all.t_median_ms[g], "all_count_mean": res.packets_all.a_mean[g],
               "all_sd_ms_pooled": res.packets_all.sigma_pooled_ms[g]}
        if res.packets is not None:
            p = res.packets
            row.update({"packet_a_mean": p.a_mean[g], "packet_a_sd": p.a_sd[g], "packet_a_fraction": p.a_fraction[g],
                        "packet_sigma_ms_median": p.sigma_median_ms[g], "packet_sigma_ms_q25": p.sigma_q25_ms[g],
                        "packet_sigma_ms_q75": p.sigma_q75_ms[g], "packet_iqr_ms_median": p.iqr_median_ms[g],
                        "packet_median_ms": p.t_median_ms[g], "packet_trials_used": p.n_trials_used[g],
                        "packet_sigma_ms_pooled": p.sigma_pooled_ms[g]})
        disp.append(row)

    def ig_block(ig, summ):
        if ig is None:
            return None
        return {"definition": ig.definition, "correction": ig.correction, "n_shuffles": ig.n_shuffles,
                "min_active_trials": ig.min_active_trials, "h_class_bits": ig.h_class_bits, "n_trials": ig.n_trials,
                "n_classes": ig.n_classes, "class_names": list(ig.class_names),
                "by_group": [asdict(s) for s in summ]}

    out = {"source": res.source, "n_units": res.n_units, "n_trials": res.n_trials, "n_spikes": res.n_spikes,
           "trial_duration_ms": res.trial_duration_ms, "groups": list(res.group_names), "accuracy": res.accuracy,
           "dispersion": {"packet_definition": d.packet_definition, "ddof": res.packets_all.ddof,
                          "spread_used_by_checks": res.options.spread, "by_group": disp},
           "information": ig_block(res.information, res.ig_summary),
           "information_secondary": ig_block(res.information_secondary, res.ig_summary_secondary),
           "pathways": None, "complexity": None,
           "checks": [asdict(c) for c in res.checks], "options": asdict(res.options), "seconds": res.seconds,
           "has_layers": bool(res.has_layers), "units": _units_block(res)}
    if res.signal is not None:  # only with a named signal: other summaries keep their keys
        out["signal"] = _signal_block(res.signal)
    if getattr(res, "delays", None) is not None:  # only for a network with delays
        out["delays"] = _delays_block(res.delays)
    if res.pathways is not None:
        pw, ov, pa = res.pathways, res.overlap, res.pathway_activity
        out["pathways"] = {"method": pw.method, "parameters": pw.parameters, "dale": pw.dale, "layers": list(pw.layers),
                           "n_excitatory": pw.n_excitatory, "mean_size": ov.mean_size,
                           "mean_jaccard": ov.mean_jaccard, "chance_jaccard": ov.chance_jaccard,
                           "activity_own": None if pa is None else pa.own,
                           "activity_other": None if pa is None else pa.other,
                           "activity_ratio": None if pa is None else pa.ratio,
                           "null": None if res.pathway_null is None else res.pathway_null.to_dict(),
                           "alternative": None if res.overlap_alt is None else {
                               "method": "ancestors" if pw.method == "influence" else "influence",
                               "mean_jaccard": res.overlap_alt.mean_jaccard,
                               "chance_jaccard": res.overlap_alt.chance_jaccard,
                               "mean_size": res.overlap_alt.mean_size}}
    if res.complexity is not None:
        c = res.complexity
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(c.n_spikes > 0, c.peak_complexity / np.maximum(c.n_spikes, 1), np.nan)
        out["complexity"] = {"bin_ms": c.bin_ms, "trials": c.trials, "groups": list(c.group_names),
                             "peak_complexity_mean": np.nanmean(np.where(c.n_spikes > 0, c.peak_complexity, np.nan), axis=1)
                             if c.trials.size else [],
                             "peak_fraction_mean": np.nanmean(frac, axis=1) if c.trials.size else [],
                             "mean_spike_complexity": np.nanmean(c.mean_spike_complexity, axis=1) if c.trials.size else [],
                             "elephant_agrees_with_numpy": c.agrees}
    return to_jsonable(out, nonfinite_to_none=True)
