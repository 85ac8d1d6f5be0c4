"""The "expected science" of Kurth, Oberste-Frielinghaus et al. 2025, checked on an analysis result.

Each :class:`ScienceCheck` states the effect the paper reports, the numbers it rests on and whether the
recording shows it (``passed`` True / False, or None when the recording cannot say, e.g. no layers).
These are domain claims, kept apart from the reporting that shows them.

The checks (hidden layers only, in depth order):

* ``ig_E_rises``: median IG of excitatory units rises with depth (Spearman rho > 0, last > first) and
  the deepest reaches ``min_effect_ig``;
* ``ig_I_lower``: in the deepest hidden layer the median IG of inhibitory units is below that of E;
* ``spread_falls_deep``: the pre-decision packet SD of the last hidden layer is below the one before
  and below the widest;
* ``ig_E_rises_before_decision``: ``ig_E_rises`` on pre-decision activity;
* ``overlap_falls``: class-pathway overlap falls with depth, by more than with shuffled weights.
"""

from dataclasses import dataclass, field

import numpy as np

__all__ = ["ScienceCheck", "science_checks"]


@dataclass(frozen=True)
class ScienceCheck:
    """One expected effect, the numbers it rests on, and whether the recording shows it."""

    name: str
    statement: str
    passed: object
    numbers: dict = field(default_factory=dict)
    detail: str = ""


def _rho(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2 or np.ptp(y[ok]) == 0 or np.ptp(x[ok]) == 0:
        return float("nan")
    from scipy.stats import spearmanr

    return float(spearmanr(x[ok], y[ok]).statistic)


def science_checks(res, groups):
    """The checks of the module docstring for ``res`` (an AnalysisResult) and its ``groups`` (UnitGroups)."""
    checks = []
    hidden = [g for g, n in enumerate(groups.names) if groups.by == "layer" and 0 < groups.layer[g] < groups.layer.max()]
    if len(hidden) < 2:
        why = "needs a layered network with >= 2 hidden layers"
        for name in ("ig_E_rises", "ig_I_lower", "spread_falls_deep", "ig_E_rises_before_decision", "overlap_falls"):
            checks.append(ScienceCheck(name, "not applicable", None, {}, why))
        return tuple(checks)
    layers = [int(groups.layer[g]) for g in hidden]
    med = {c: [next((s.median for s in res.ig_summary if s.layer == l and s.cell_type == c), float("nan"))
               for l in layers] for c in ("E", "I")}
    e, i = np.array(med["E"]), np.array(med["I"])
    rho = _rho(layers, e)
    ok = np.isfinite(e)
    floor = float(res.options.min_effect_ig)
    passed = bool(rho > 0 and e[ok][-1] > e[ok][0] and e[ok][-1] >= floor) if ok.sum() >= 2 else None
    checks.append(ScienceCheck(
        "ig_E_rises", f"median IG of excitatory units rises with depth toward 1 (deepest hidden layer >= {floor:g})",
        passed, {"layers": layers, "median_ig_E": e.tolist(), "spearman_rho": rho, "min_effect_ig": floor},
        f"median IG(E) per hidden layer {np.round(e, 3).tolist()}, Spearman rho {rho:.2f}"))
    both = np.isfinite(e) & np.isfinite(i)
    passed = bool(both[-1] and i[-1] < e[-1]) if both.any() else None
    checks.append(ScienceCheck(
        "ig_I_lower", "inhibitory units stay less class-specific than excitatory ones", passed,
        {"layers": layers, "median_ig_E": e.tolist(), "median_ig_I": i.tolist(),
         "layers_with_I_below_E": int(np.sum(i[both] < e[both])), "layers_compared": int(both.sum())},
        f"median IG(I) {np.round(i, 3).tolist()} vs IG(E) {np.round(e, 3).tolist()}"))
    pk = res.packets if res.packets is not None else res.packets_all
    sig = np.array([pk.sigma_median_ms[g] for g in hidden])
    okk = np.isfinite(sig)
    s_ok = sig[okk]
    passed = bool(s_ok[-1] < s_ok[-2] and s_ok[-1] < np.max(s_ok[:-1])) if s_ok.size >= 2 else None
    peak = int(np.array(layers)[okk][np.argmax(s_ok)]) if s_ok.size else None
    checks.append(ScienceCheck(
        "spread_falls_deep", "the pre-decision spread (packet sigma) falls in deep layers", passed,
        {"layers": layers, "packet_sigma_ms": sig.tolist(), "packet": res.dispersion.packet_definition,
         "peak_layer": peak, "input_sigma_ms": float(pk.sigma_median_ms[0]) if groups.layer[0] == 0 else None},
        f"median packet SD per hidden layer {np.round(sig, 3).tolist()} ms (largest in layer {peak}); "
        "shown = the last hidden layer is sharper than the one before and than the widest"))
    if res.information_decision is not None:
        e2 = np.array([next((s.median for s in res.ig_summary_decision if s.layer == l and s.cell_type == "E"),
                            float("nan")) for l in layers])
        n2 = [next((s.n_valid for s in res.ig_summary_decision if s.layer == l and s.cell_type == "E"), 0)
              for l in layers]
        ok2 = np.isfinite(e2)
        rho2 = _rho(layers, e2)
        passed = bool(rho2 > 0 and e2[ok2][-1] > e2[ok2][0] and e2[ok2][-1] >= floor) if ok2.sum() >= 2 else None
        checks.append(ScienceCheck(
            "ig_E_rises_before_decision",
            f"median IG of excitatory units (pre-decision activity) rises with depth (deepest >= {floor:g})",
            passed, {"layers": layers, "median_ig_E": e2.tolist(), "n_valid_E": n2, "spearman_rho": rho2,
                     "min_effect_ig": floor},
            f"median IG(E), active = spike at or before the decision: {np.round(e2, 3).tolist()} "
            f"(valid units {n2}), Spearman rho {rho2:.2f}"))
    if res.overlap is not None:
        j = res.overlap.mean_jaccard
        rho = _rho(res.overlap.layers, j)
        okj = np.isfinite(j)
        falls = bool(okj.sum() >= 2 and j[okj][-1] < j[okj][0] and not rho > 0) if okj.sum() >= 2 else None
        jn = res.overlap_null.mean_jaccard if res.overlap_null is not None else np.full(j.shape, np.nan)
        fall, fall_null = float(j[0] - j[-1]), float(jn[0] - jn[-1])
        beyond = bool(fall > fall_null + 0.05) if np.isfinite(fall) and np.isfinite(fall_null) else None
        passed = None if falls is None or beyond is None else bool(falls and beyond)
        checks.append(ScienceCheck(
            "overlap_falls", "class-pathway overlap falls with depth, by more (> 0.05) than with shuffled weights",
            passed,
            {"layers": list(res.overlap.layers), "mean_jaccard": j.tolist(),
             "chance_jaccard": res.overlap.chance_jaccard.tolist(), "spearman_rho": rho,
             "null_jaccard": jn.tolist(), "fall": fall, "fall_null": fall_null, "falls": falls,
             "fall_beyond_null": beyond},
            f"mean Jaccard ({res.pathways.method}) {np.round(j, 3).tolist()}, chance for sets of the same sizes "
            f"{np.round(res.overlap.chance_jaccard, 3).tolist()}, shuffled-weight null {np.round(jn, 3).tolist()} "
            f"(fall first->last {fall:.3f} vs null {fall_null:.3f}: "
            f"{'larger than the null' if beyond else 'not larger than the null' if beyond is False else 'n/a'})"
            + ("" if res.overlap_alt is None else
               f"; second method: {np.round(res.overlap_alt.mean_jaccard, 3).tolist()}, chance "
               f"{np.round(res.overlap_alt.chance_jaccard, 3).tolist()}")))
    else:
        checks.append(ScienceCheck("overlap_falls", "class-pathway overlap falls with depth", None, {},
                                   "no weights given"))
    return tuple(checks)
