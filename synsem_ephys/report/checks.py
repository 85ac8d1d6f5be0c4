"""The claims of Kurth, Oberste-Frielinghaus et al. 2025, judged on an analysis result under named definitions.

Each :class:`ScienceCheck` states the effect the paper reports, the numbers it rests on, the definitions
used (which spikes make a unit active, the bias correction, the minimum of active trials, the spread and
the null) and whether the recording shows it (``passed`` True / False, or None when it cannot say). These
are domain claims, kept apart from the reporting that shows them. The headline definition of "active" is
the result's (by default a spike strictly before the decision, the paper's); a secondary one (by default
"any spike") is listed beside it in the numbers, never judged instead.

The checks, over the hidden layers in depth order:

* ``spread_then_reconverges``: the packet spread (``spread`` of :class:`~synsem_ephys.analysis.PulsePackets`)
  rises from the first hidden layer to a peak in a later hidden layer that is not the last (activity
  spreads out), and the last hidden layer is sharper than that peak and than the layer before it
  (re-convergence); a spread that only falls with depth is not shown;
* ``ig_E_rises``: the median IG of excitatory units rises with depth (Spearman rho > 0, last > first) and
  the deepest reaches ``min_effect_ig``;
* ``ig_I_lower``: the median IG of inhibitory units is below that of E in the deepest hidden layer (and
  the count of layers where it is below is given);
* ``pathways_distinct``: the trained class pathways overlap less than the null's 5th percentile (Dale-
  preserving weight shuffles, ``n_pathway_shuffles``) in most hidden layers, and less in the last than in
  the first;
* ``pathway_selectivity_rises``: the selectivity of pathway units (P(active | own class) / P(active |
  other classes)) rises with depth (rho > 0, last > first) and in the deepest layer exceeds the null's
  95th percentile.

A recording without >= 2 hidden layers (e.g. in vivo) gets one entry ``layered_network_checks`` naming the
checks that do not apply, not one line per check.
"""

from dataclasses import dataclass, field

import numpy as np

__all__ = ["ScienceCheck", "science_checks", "CHECK_NAMES"]

#: The checks in the order they are reported.
CHECK_NAMES = ("spread_then_reconverges", "ig_E_rises", "ig_I_lower", "pathways_distinct", "pathway_selectivity_rises")


@dataclass(frozen=True)
class ScienceCheck:
    """One expected effect, the numbers it rests on, the definitions used, and whether the recording shows it."""

    name: str
    statement: str
    passed: object
    numbers: dict = field(default_factory=dict)
    detail: str = ""
    definition: str = ""


def _rho(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2 or np.ptp(y[ok]) == 0 or np.ptp(x[ok]) == 0:
        return float("nan")
    from scipy.stats import spearmanr

    return float(spearmanr(x[ok], y[ok]).statistic)


def _median_of(summary, layers, cell_type, attr="median"):
    return np.array([next((getattr(s, attr) for s in summary if s.layer == l and s.cell_type == cell_type),
                          np.nan) for l in layers], float)


def _ig_definition(ig):
    return (f"active = {ig.definition}; correction {ig.correction}"
            + (f" ({ig.n_shuffles} label shuffles)" if ig.n_shuffles else "")
            + f"; units active in >= {ig.min_active_trials} labelled trials")


def science_checks(res, groups):
    """The checks of the module docstring for ``res`` (an AnalysisResult) and its ``groups`` (UnitGroups)."""
    hidden = [g for g, n in enumerate(groups.names) if groups.by == "layer" and 0 < groups.layer[g] < groups.layer.max()]
    if len(hidden) < 2:
        return (ScienceCheck("layered_network_checks", "checks of a layered network: " + ", ".join(CHECK_NAMES),
                             None, {"not_applicable": list(CHECK_NAMES)},
                             "not applicable: they need a layered network with >= 2 hidden layers "
                             f"(this recording is grouped by {groups.by}: {', '.join(groups.names)})"),)
    layers = [int(groups.layer[g]) for g in hidden]
    opts = res.options
    floor = float(opts.min_effect_ig)
    return (_spread(res, groups, hidden, layers), *_information(res, layers, floor), *_pathways(res, layers))


def _spread(res, groups, hidden, layers):
    pk = res.packets if res.packets is not None else res.packets_all
    spread = res.options.spread
    sig = np.array([pk.sigma_ms(spread)[g] for g in hidden], float)
    other = "pooled" if spread == "median" else "median"
    ok = np.isfinite(sig)
    s_ok, l_ok = sig[ok], np.array(layers)[ok]
    passed = None
    peak = None
    if s_ok.size >= 3:
        k = int(np.argmax(s_ok))
        peak = int(l_ok[k])
        passed = bool(0 < k < s_ok.size - 1 and s_ok[-1] < s_ok[k] and s_ok[-1] < s_ok[-2])
    what = res.dispersion.packet_definition if res.packets is not None else "all spikes"
    defin = (f"packet = {what}; spread = {'median over trials of the per-trial SD' if spread == 'median' else 'SD pooled over trials'}"
             f" (ddof {pk.ddof})")
    inp = float(pk.sigma_ms(spread)[0]) if groups.layer[0] == 0 else None
    return ScienceCheck(
        "spread_then_reconverges", "activity first spreads out over time, then re-converges into sharp pulses in deep layers",
        passed, {"layers": layers, "sigma_ms": sig.tolist(), "spread": spread, "ddof": pk.ddof, "packet": what,
                 f"sigma_ms_{other}": [float(pk.sigma_ms(other)[g]) for g in hidden], "peak_layer": peak,
                 "input_sigma_ms": inp},
        f"packet spread per hidden layer {np.round(sig, 3).tolist()} ms (widest in layer {peak}"
        + (f", input {inp:.3f} ms" if inp is not None else "") + f"); {other} spread "
        f"{np.round([pk.sigma_ms(other)[g] for g in hidden], 3).tolist()} ms", defin)


def _information(res, layers, floor):
    ig = res.information
    if ig is None:
        why = "no class labels with >= 2 classes: information gain was not computed"
        return (ScienceCheck("ig_E_rises", "semantisation: IG of excitatory units rises with depth toward 1", None, {}, why),
                ScienceCheck("ig_I_lower", "inhibitory units stay less class-specific than excitatory ones", None, {}, why))
    e, i = _median_of(res.ig_summary, layers, "E"), _median_of(res.ig_summary, layers, "I")
    n_e = _median_of(res.ig_summary, layers, "E", "n_valid").astype(int).tolist()
    sec = {}
    if res.information_secondary is not None:
        sec = {"secondary_definition": res.information_secondary.definition,
               "secondary_median_ig_E": _median_of(res.ig_summary_secondary, layers, "E").tolist(),
               "secondary_median_ig_I": _median_of(res.ig_summary_secondary, layers, "I").tolist()}
    rho = _rho(layers, e)
    ok = np.isfinite(e)
    passed = bool(rho > 0 and e[ok][-1] > e[ok][0] and e[ok][-1] >= floor) if ok.sum() >= 2 else None
    defin = _ig_definition(ig)
    rises = ScienceCheck(
        "ig_E_rises", f"semantisation: the median IG of excitatory units rises with depth toward 1 (deepest >= {floor:g})",
        passed, {"layers": layers, "median_ig_E": e.tolist(), "n_valid_E": n_e, "spearman_rho": rho,
                 "min_effect_ig": floor, "definition": ig.definition, "correction": ig.correction,
                 "min_active_trials": ig.min_active_trials, **sec},
        f"median IG(E) per hidden layer {np.round(e, 3).tolist()} (valid units {n_e}), Spearman rho {rho:.2f}"
        + (f"; with {sec['secondary_definition']}: {np.round(sec['secondary_median_ig_E'], 3).tolist()}" if sec else ""),
        defin)
    both = np.isfinite(e) & np.isfinite(i)
    passed = bool(both[-1] and i[-1] < e[-1]) if both.any() else None
    lower = ScienceCheck(
        "ig_I_lower", "inhibitory units stay less class-specific than excitatory ones", passed,
        {"layers": layers, "median_ig_E": e.tolist(), "median_ig_I": i.tolist(),
         "layers_with_I_below_E": int(np.sum(i[both] < e[both])), "layers_compared": int(both.sum())},
        f"median IG(I) {np.round(i, 3).tolist()} vs IG(E) {np.round(e, 3).tolist()}; I below E in "
        f"{int(np.sum(i[both] < e[both]))} of {int(both.sum())} layers", defin)
    return rises, lower


def _pathways(res, layers):
    nul = res.pathway_null
    if res.overlap is None or nul is None:
        why = "no weights given" if res.overlap is None else "no pathway null (labels outside the output classes, or 0 shuffles)"
        return (ScienceCheck("pathways_distinct", "class-specific excitatory pathways: less overlap than shuffled weights",
                             None, {}, why),
                ScienceCheck("pathway_selectivity_rises", "pathway units grow more class-selective with depth", None, {}, why))
    defin = (f"{res.pathways.method} pathways ({res.pathways.parameters}); null = {nul.n_shuffles} Dale-preserving "
             f"weight shuffles (seeds {nul.seed}..{nul.seed + nul.n_shuffles - 1}); selectivity with active = {nul.definition}")
    j, q05 = np.asarray(nul.overlap, float), nul.overlap_null_q05
    below = np.isfinite(j) & np.isfinite(q05) & (j < q05)
    okj = np.isfinite(j)
    passed = bool(below.sum() > okj.sum() / 2 and j[okj][-1] < j[okj][0]) if okj.sum() >= 2 else None
    distinct = ScienceCheck(
        "pathways_distinct",
        "class-specific excitatory pathways: in most hidden layers the classes' pathways overlap less than the null's "
        "5th percentile, and less deep than early", passed,
        {"layers": list(nul.layers), "mean_jaccard": j.tolist(), "null_q05": q05.tolist(),
         "null_median": np.nanmedian(nul.overlap_null, axis=0).tolist(), "layers_below_null": int(below.sum()),
         "chance_jaccard": res.overlap.chance_jaccard.tolist(), "n_shuffles": nul.n_shuffles},
        f"mean Jaccard {np.round(j, 3).tolist()} vs the null's 5th percentile {np.round(q05, 3).tolist()}: below in "
        f"{int(below.sum())} of {int(okj.sum())} layers", defin)
    sel, q95 = np.asarray(nul.selectivity, float), nul.selectivity_null_q95
    rho = _rho(nul.layers, sel)
    oks = np.isfinite(sel)
    passed = (bool(rho > 0 and sel[oks][-1] > sel[oks][0] and sel[oks][-1] > q95[oks][-1])
              if oks.sum() >= 2 and np.isfinite(q95[oks][-1]) else None)
    selective = ScienceCheck(
        "pathway_selectivity_rises",
        "pathway units grow more class-selective with depth, beyond the null's 95th percentile in the deepest layer",
        passed, {"layers": list(nul.layers), "selectivity": sel.tolist(), "null_q95": q95.tolist(),
                 "null_median": np.nanmedian(nul.selectivity_null, axis=0).tolist(), "spearman_rho": rho},
        f"P(active | own) / P(active | other) {np.round(sel, 2).tolist()} vs the null's 95th percentile "
        f"{np.round(q95, 2).tolist()}, Spearman rho {rho:.2f}", defin)
    return distinct, selective
