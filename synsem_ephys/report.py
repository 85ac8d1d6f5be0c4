r"""The analysis report: every analysis on one recording, a JSON summary, figures and ``report.html``.

Runs on a :class:`~synsem_ephys.record.SpikeRecord` or canonical ``neo.Block`` of any origin (the
simulator, an in-vivo file through :mod:`synsem_ephys.adapters`, a NIX file) and, for pathways, on the
network's weights as numpy arrays with their presynaptic signs (the caller converts from torch: this
module never imports torch). The analyses and their equations are documented in

* :mod:`synsem_ephys.analysis.dispersion`    spike-time SD / IQR / median per layer and trial, pulse packets
* :mod:`synsem_ephys.analysis.information`   IG = (H(C) - H(C | active)) / H(C) per unit, bias-corrected
* :mod:`synsem_ephys.analysis.elephant_checks` Elephant complexity / Synchrotool cross-check
* :mod:`synsem_ephys.graph.pathways`         class pathways, their Jaccard overlap and activity

The "expected science" (Kurth, Oberste-Frielinghaus et al. 2025) is checked, not assumed: each check
states its numbers and whether the recording shows the effect (``passed`` True / False, or None when
the recording cannot say, e.g. no layers).
"""

import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from .analysis._common import as_record, unit_groups
from .analysis.dispersion import dispersion, pulse_packets
from .analysis.information import information_gain, summarize_by_group
from .errors import input_error

__all__ = ["ReportOptions", "ScienceCheck", "AnalysisResult", "Report", "analyze", "write_report", "analyze_file",
           "SUMMARY_NAME", "HTML_NAME"]

SUMMARY_NAME = "summary.json"
HTML_NAME = "report.html"


@dataclass(frozen=True)
class ReportOptions:
    """Parameters of every analysis in the report.

    Attributes
    ----------
    packet : "auto", "decision", (start_ms, stop_ms) or None
        Packet of the dispersion analysis; "auto" = "decision" when the record has decision times, else none.
    active : "any", "decision" or (start_ms, stop_ms)
        Definition of "active" for information gain (a second IG with "decision" is added for networks).
    labels : None or str
        Class labels for IG: the trials' label, or a trial column name.
    min_spikes : int
        Selected spikes needed to be active.
    min_active_trials, correction, n_shuffles, seed
        Information-gain settings (see :func:`~synsem_ephys.analysis.information.information_gain`).
    pathway_method, pathway_quantile, pathway_top_k
        Class pathway settings (see :func:`~synsem_ephys.graph.pathways.class_pathways`).
    complexity_bin_ms, complexity_trials : float, int
        Elephant cross-check (0 trials switches it off).
    raster_trial : int or None
        Trial shown in the raster (default: the first correctly classified one, else trial 0).
    min_effect_ig : float
        "IG rises toward 1" also needs the deepest hidden layer's median IG(E) >= this (an untrained,
        calibrated network rises from 0.000 to 0.007: ordered, but no semantisation).
    """

    packet: object = "auto"
    active: object = "any"
    labels: object = None
    min_spikes: int = 1
    min_active_trials: int = 10
    correction: str = "shuffle"
    n_shuffles: int = 200
    seed: int = 0
    pathway_method: str = "influence"
    pathway_quantile: float = 0.9
    pathway_top_k: object = None
    complexity_bin_ms: float = 1.0
    complexity_trials: int = 5
    raster_trial: object = None
    min_effect_ig: float = 0.1


@dataclass(frozen=True)
class ScienceCheck:
    """One expected effect, the numbers it rests on, and whether the recording shows it."""

    name: str
    statement: str
    passed: object
    numbers: dict = field(default_factory=dict)
    detail: str = ""


@dataclass(frozen=True, eq=False)
class AnalysisResult:
    """Everything computed for a report (see the module docstring for the parts)."""

    source: str
    n_units: int
    n_trials: int
    n_spikes: int
    trial_duration_ms: float
    group_names: tuple
    accuracy: object
    dispersion: object
    packets: object
    packets_all: object
    information: object
    ig_summary: tuple
    information_decision: object
    ig_summary_decision: tuple
    pathways: object
    overlap: object
    pathway_activity: object
    overlap_alt: object
    overlap_null: object
    complexity: object
    checks: tuple
    options: ReportOptions
    seconds: dict


@dataclass(frozen=True)
class Report:
    """Files of a written report and the result they show."""

    out_dir: Path
    html: Path
    summary: Path
    figures: dict
    graphml: object
    result: AnalysisResult


class _Progress:
    def __init__(self, enabled, n_steps):
        self.enabled, self.n, self.k, self.t0, self.t = bool(enabled), n_steps, 0, time.perf_counter(), None
        self.seconds = {}
        self.name = None

    def step(self, name):
        now = time.perf_counter()
        if self.name is not None:
            self.seconds[self.name] = round(now - self.t, 3)
        self.k += 1
        self.name, self.t = name, now
        if self.enabled and name is not None:
            print(f"[{self.k}/{self.n}] {name} ... ({now - self.t0:.1f} s)", file=sys.stderr, flush=True)

    def done(self):
        self.step(None)
        if self.enabled:
            print(f"done in {time.perf_counter() - self.t0:.1f} s", file=sys.stderr, flush=True)


def _accuracy(record):
    lab, pred = record.trials.label, record.trials.prediction
    ok = lab >= 0
    if not np.any(ok) or np.all(pred[ok] < 0) and not np.any(np.isfinite(record.trials.decision_time_ms)):
        return None
    return float(np.mean(pred[ok] == lab[ok]))


def _signs_and_spec(record, weights, signs, spec):
    if weights is None:
        return None, None, None
    if spec is None and "spec" in record.meta:
        from .spec import NetworkSpec

        spec = NetworkSpec.from_json(record.meta["spec"]) if isinstance(record.meta["spec"], str) \
            else NetworkSpec.from_dict(record.meta["spec"])
    ws = [np.asarray(w, float) for w in weights]
    if signs is None and spec is None:
        raise input_error("signs", "presynaptic signs per weight matrix (or spec, or a record with meta['spec'])",
                          None, "Pass signs=[net.sign(l).numpy() for l in range(len(net.weights))].")
    return ws, signs, spec


def _rho(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2 or np.ptp(y[ok]) == 0 or np.ptp(x[ok]) == 0:
        return float("nan")
    from scipy.stats import spearmanr

    return float(spearmanr(x[ok], y[ok]).statistic)


def _science_checks(res, groups):
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


def analyze(source, *, weights=None, signs=None, spec=None, accuracy=None, options=None, progress=False):
    """Run every analysis on ``source`` and return an :class:`AnalysisResult` (no files).

    Parameters
    ----------
    source : SpikeRecord or neo.Block
    weights : list of ndarray (n_pre, n_post), optional
        The network's weights (numpy); enables the pathway analyses.
    signs : list of ndarray, optional
        Presynaptic signs per matrix (+1 E / -1 I / 0); default from ``spec`` or ``record.meta['spec']``.
    spec : NetworkSpec, optional
    accuracy : float, optional
        Overrides the accuracy computed from the trials' label and prediction.
    options : ReportOptions, optional
    progress : bool
        Print one line per step to stderr.
    """
    from .graph.pathways import class_pathways, pathway_activity, pathway_overlap

    record = as_record(source, "source")
    opts = options or ReportOptions()
    if not isinstance(opts, ReportOptions):
        raise input_error("options", "a ReportOptions", type(opts).__name__)
    ws, signs, spec = _signs_and_spec(record, weights, signs, spec)
    bar = _Progress(progress, 5 + (ws is not None) + (opts.complexity_trials > 0))
    groups = unit_groups(record)
    has_decision = bool(np.any(np.isfinite(record.trials.decision_time_ms)))
    packet = opts.packet
    if packet == "auto":
        packet = "decision" if has_decision else None
    bar.step("dispersion of spike times and pulse packets")
    disp = dispersion(record, packet=packet)
    packets = pulse_packets(disp) if packet is not None else None
    packets_all = pulse_packets(disp, "all")
    bar.step(f"information gain ({opts.correction}, {opts.n_shuffles} shuffles)")
    ig_kw = dict(labels=opts.labels, min_spikes=opts.min_spikes, min_active_trials=opts.min_active_trials,
                 correction=opts.correction, n_shuffles=opts.n_shuffles, seed=opts.seed)
    from .analysis.information import class_labels

    lab, _ = class_labels(record, opts.labels)
    can_ig = np.unique(lab[lab >= 0]).size >= 2
    ig, ig_sum = None, ()
    if can_ig:
        ig = information_gain(record, active=opts.active, **ig_kw)
        ig_sum = summarize_by_group(ig, record)
    ig_dec, ig_dec_sum = None, ()
    if can_ig and has_decision and opts.active != "decision":
        bar.step("information gain of pre-decision activity")
        ig_dec = information_gain(record, active="decision", **ig_kw)
        ig_dec_sum = summarize_by_group(ig_dec, record)
    else:
        bar.step("information gain of pre-decision activity (skipped)")
    pw = ov = pa = ov_alt = ov_null = None
    if ws is not None:
        bar.step(f"class pathways ({opts.pathway_method})")
        pw = class_pathways(ws, signs, spec=spec, method=opts.pathway_method, quantile=opts.pathway_quantile,
                            top_k=opts.pathway_top_k)
        ov = pathway_overlap(pw)
        from .graph.pathways import shuffle_weights

        ov_null = pathway_overlap(class_pathways(shuffle_weights(ws, signs, spec=spec, seed=opts.seed), signs, spec=spec,
                                                 method=opts.pathway_method, quantile=opts.pathway_quantile,
                                                 top_k=opts.pathway_top_k))
        alt = "ancestors" if opts.pathway_method == "influence" else "influence"
        ov_alt = pathway_overlap(class_pathways(ws, signs, spec=spec, method=alt, quantile=opts.pathway_quantile,
                                                top_k=opts.pathway_top_k))
        lab_ok = record.trials.label[record.trials.label >= 0]
        if lab_ok.size and lab_ok.max() < pw.n_classes:
            pa = pathway_activity(pw, record, active=opts.active, labels=opts.labels, min_spikes=opts.min_spikes)
    cx = None
    if opts.complexity_trials > 0:
        bar.step("Elephant complexity cross-check")
        cx = _complexity(record, opts)
    bar.step("science checks")
    acc = _accuracy(record) if accuracy is None else float(accuracy)
    res = AnalysisResult(str(record.meta.get("source", "")), record.n_units, record.n_trials, record.n_spikes,
                         record.trial_duration_ms, groups.names, acc, disp, packets, packets_all, ig, ig_sum, ig_dec,
                         ig_dec_sum, pw, ov, pa, ov_alt, ov_null, cx, (), opts, {})
    res = replace(res, checks=_science_checks(res, groups))
    bar.done()
    return replace(res, seconds=dict(bar.seconds))


def _complexity(record, opts):
    import warnings

    from .analysis.elephant_checks import complexity_by_group

    dec = record.trials.decision_time_ms
    trials = np.flatnonzero(np.isfinite(dec)) if np.any(np.isfinite(dec)) else np.arange(record.n_trials)
    with warnings.catch_warnings():  # local: Elephant's quantities deprecation flood
        warnings.simplefilter("ignore", DeprecationWarning)
        return complexity_by_group(record, bin_ms=opts.complexity_bin_ms, trials=trials[: opts.complexity_trials])


# ------------------------------------------------------------------------------------------ JSON
def _clean(obj):
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if not math.isfinite(float(obj)) else float(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def summary_dict(res):
    """The machine-readable summary of an :class:`AnalysisResult` (JSON-ready; NaN -> null)."""
    d = res.dispersion
    disp = []
    for g, name in enumerate(d.group_names):
        row = {"group": name, "layer": int(d.group_layer[g]), "n_units": int(d.group_size[g]),
               "all_sd_ms_median": res.packets_all.sigma_median_ms[g], "all_iqr_ms_median": res.packets_all.iqr_median_ms[g],
               "all_median_ms": res.packets_all.t_median_ms[g], "all_count_mean": res.packets_all.a_mean[g]}
        if res.packets is not None:
            p = res.packets
            row.update({"packet_a_mean": p.a_mean[g], "packet_a_sd": p.a_sd[g], "packet_a_fraction": p.a_fraction[g],
                        "packet_sigma_ms_median": p.sigma_median_ms[g], "packet_sigma_ms_q25": p.sigma_q25_ms[g],
                        "packet_sigma_ms_q75": p.sigma_q75_ms[g], "packet_iqr_ms_median": p.iqr_median_ms[g],
                        "packet_median_ms": p.t_median_ms[g], "packet_trials_used": p.n_trials_used[g]})
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
           "dispersion": {"packet_definition": d.packet_definition, "by_group": disp},
           "information": ig_block(res.information, res.ig_summary),
           "information_before_decision": ig_block(res.information_decision, res.ig_summary_decision),
           "pathways": None, "complexity": None,
           "checks": [asdict(c) for c in res.checks], "options": asdict(res.options), "seconds": res.seconds}
    if res.pathways is not None:
        pw, ov, pa = res.pathways, res.overlap, res.pathway_activity
        out["pathways"] = {"method": pw.method, "parameters": pw.parameters, "dale": pw.dale, "layers": list(pw.layers),
                           "n_excitatory": pw.n_excitatory, "mean_size": ov.mean_size,
                           "mean_jaccard": ov.mean_jaccard, "chance_jaccard": ov.chance_jaccard,
                           "activity_own": None if pa is None else pa.own,
                           "activity_other": None if pa is None else pa.other,
                           "activity_ratio": None if pa is None else pa.ratio,
                           "null_jaccard": None if res.overlap_null is None else res.overlap_null.mean_jaccard,
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
    return _clean(out)


# ------------------------------------------------------------------------------------------ files
def write_report(source, out_dir, *, weights=None, signs=None, spec=None, accuracy=None, progress=True,
                 options=None, graphml=True):
    """Analyse ``source`` and write ``out_dir/report.html``, ``summary.json`` and the PNG figures.

    Parameters
    ----------
    source : SpikeRecord or neo.Block
    out_dir : str or Path
        Created if missing; existing report files are overwritten.
    weights, signs, spec, accuracy, options
        See :func:`analyze`.
    progress : bool
        One line per step on stderr.
    graphml : bool
        Also write ``pathways.graphml`` when weights are given.

    Returns
    -------
    Report
    """
    from . import report_figures as rf
    from .report_html import render_html

    record = as_record(source, "source")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    res = analyze(record, weights=weights, signs=signs, spec=spec, accuracy=accuracy, options=options,
                  progress=progress)
    t0 = time.perf_counter()
    if progress:
        print("writing figures, summary and report.html ...", file=sys.stderr, flush=True)
    groups = unit_groups(record)
    figs = {}
    trial = _raster_trial(record, res.options.raster_trial)
    hist = np.arange(min(record.n_trials, 2000))
    figs["raster"] = rf.raster_figure(record, groups, res.dispersion, trial, out / "raster.png", hist_trials=hist)
    figs["dispersion"] = rf.dispersion_figure(res.dispersion, res.packets or res.packets_all, res.complexity,
                                              out / "dispersion.png")
    if res.information is not None:
        figs["information"] = rf.ig_figure(res.information, groups, out / "information_gain.png",
                                           more=[res.information_decision])
    if res.overlap is not None:
        figs["pathways"] = rf.pathway_figure(res.overlap, res.pathway_activity, out / "pathways.png",
                                             alternative=res.overlap_alt, method=res.pathways.method,
                                             null=res.overlap_null)
    if res.accuracy is not None and np.any(record.trials.prediction >= 0):
        names = res.information.class_names if res.information is not None else ()
        k = int(max(record.trials.label.max(), record.trials.prediction.max())) + 1
        names = tuple(str(c) for c in range(k)) if len(names) != k else names
        figs["accuracy"] = rf.accuracy_figure(record.trials.label, record.trials.prediction, names, res.accuracy,
                                              out / "accuracy.png")
    gpath = None
    if graphml and res.pathways is not None:
        from .graph.pathways import pathway_graph, write_graphml

        ws, sg, sp = _signs_and_spec(record, weights, signs, spec)
        gpath = write_graphml(pathway_graph(res.pathways, ws, sg, spec=sp), out / "pathways.graphml")
    summary = summary_dict(res)
    summary["figures"] = {k: v.name for k, v in figs.items()}
    summary["graphml"] = None if gpath is None else Path(gpath).name
    summary["raster_trial"] = int(trial)
    summary["seconds"]["files"] = round(time.perf_counter() - t0, 3)
    spath = out / SUMMARY_NAME
    spath.write_text(json.dumps(summary, indent=1, allow_nan=False))
    hpath = out / HTML_NAME
    hpath.write_text(render_html(summary, record.meta))
    if progress:
        print(f"report written to {hpath}", file=sys.stderr, flush=True)
    return Report(out, hpath, spath, figs, gpath, res)


def _raster_trial(record, trial):
    if trial is not None:
        if not 0 <= int(trial) < record.n_trials:
            raise input_error("raster_trial", f"a trial index in [0, {record.n_trials})", trial)
        return int(trial)
    ok = np.flatnonzero((record.trials.label >= 0) & (record.trials.prediction == record.trials.label))
    return int(ok[0]) if ok.size else 0


def analyze_file(path, out_dir, *, weights=None, signs=None, spec=None, accuracy=None, progress=True, options=None,
                 graphml=True):
    """Read a recording file (``.nix`` written by synsem_ephys, or ``.nwb``) and write its report.

    ``.nwb`` files go through :func:`synsem_ephys.adapters.nwb.load_nwb` (trial-type column found
    automatically); anything else is read as NIX. For in-vivo files pass ``options`` with a response
    window (``active=(start_ms, stop_ms)``, ``packet=...``, ``min_spikes``): "any spike in a trial of
    several seconds" makes almost every unit active in every trial.

    Parameters are those of :func:`write_report`; the network spec for pathways is taken from the
    file's provenance (``meta['spec']``) when ``spec`` and ``signs`` are not given.
    """
    from .neo_io import read_nix_record, read_nwb

    p = Path(path)
    if p.suffix.lower() == ".nwb":
        try:  # DANDI-style files: pick the trial-type column automatically
            from .adapters.nwb import load_nwb
        except ImportError:
            record = read_nwb(p)
        else:
            record = load_nwb(p)
    else:
        record = read_nix_record(p)
    return write_report(record, out_dir, weights=weights, signs=signs, spec=spec, accuracy=accuracy,
                        progress=progress, options=options, graphml=graphml)
