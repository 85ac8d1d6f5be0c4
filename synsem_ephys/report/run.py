r"""Orchestration of the analysis report: every analysis on one recording, then the files.

Runs on a :class:`~synsem_ephys.record.SpikeRecord` or any ``neo.Block`` of any origin (the
simulator, an in-vivo file through :mod:`synsem_ephys.adapters`, a NIX file) and, for pathways, on the
network's weights as numpy arrays with their presynaptic signs (the caller converts from torch: this
module never imports torch). The analyses and their equations are documented in

* :mod:`synsem_ephys.analysis.dispersion`    spike-time SD / IQR / median per layer and trial, pulse packets
* :mod:`synsem_ephys.analysis.information`   IG = (H(C) - H(C | active)) / H(C) per unit, bias-corrected
* :mod:`synsem_ephys.analysis.complexity` Elephant complexity / Synchrotool cross-check
* :mod:`synsem_ephys.graph.pathways`         class pathways and their Jaccard overlap
*   :mod:`synsem_ephys.analysis.pathways` their class-specific activity in the recording
* :mod:`synsem_ephys.analysis.units`         per unit: rate, CV of ISIs, ISI violations, IG, preferred condition;
  the PSTH per condition (recordings without layers: in vivo, other simulators)

The report chooses its sections by what the recording holds: a recording without layers (every unit's
``layer`` is -1) gets the per-unit table (``units.csv``, ``summary.json`` key ``"units"``) and the PSTH per
condition instead of the plots across depth (its dispersion table per group stays); a layered network keeps
the depth plots and has ``"units": null``.

With a signal named (``signal=NAME``, the CLI's ``--signal``), the report adds the tuning curve of every
unit against it and its Skaggs information with the circular-shift p-value
(:mod:`synsem_ephys.analysis.signals`; spikes: "any", or the response window when ``active`` is one), as
the figure ``tuning.png``, the ``summary.json`` key ``"signal"`` and, for the per-unit table, the columns
:data:`SIGNAL_COLUMNS`; without a named signal nothing of it appears.

A network with transmission delays (``delays=`` per weight matrix, or the record's provenance: ``meta["delays_ms"]``,
which :meth:`synsem_ephys.sim.Network.record` writes and NIX / NWB files keep) adds the delay distribution per
weight matrix and presynaptic type (E / I; :func:`synsem_ephys.analysis.ei_structure.delay_distributions`) and,
with the weights, the E/I structure statistics of every matrix with delays against their permutation nulls
(:func:`~synsem_ephys.analysis.ei_structure.ei_statistics`, ``options.n_shuffles`` permutations per null; space =
the input index for the first matrix, the units' receptive-field centres for deeper ones), as the figure
``delays.png``, the ``summary.json`` key ``"delays"`` and an HTML section; without delays nothing of it appears.
The third null, the network at initialisation (``initial=``: its weights and delays, e.g. those of the
``network_init.pt`` the trainer writes beside ``network.pt`` for a network with delays,
:func:`synsem_ephys.train.initial_network`; the CLI's ``analyze --initial``, found automatically from
``--network``), is not a permutation: each statistic is shown now and at initialisation, and the delay histograms
of the initial network are drawn dashed in ``delays.png``. With spikes (the record's layers) the section also has
the within-trial arrival order of the E and I inputs (:func:`~synsem_ephys.analysis.ei_structure.arrival_order`:
the first spike of each presynaptic unit plus its delay, the inputs that arrive before the postsynaptic unit's
first spike), against the same permutation nulls, on the first trials of the record (at most
:data:`ARRIVAL_MAX_ENTRIES` trials x synapses per permutation, ``ReportOptions.arrival_max_entries``).

The "expected science" (Kurth, Oberste-Frielinghaus et al. 2025) is checked, not assumed, in
:mod:`synsem_ephys.report.checks`; :mod:`~synsem_ephys.report.summary` is the one view model from which
``summary.json`` and ``report.html`` are rendered; :mod:`~synsem_ephys.report.figures` draws the PNGs.
Progress: one line per step on stderr (``progress=True``) or a callable ``progress(step, n_steps, name,
seconds)``.
"""

import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .._files import json_dumps, write_text_atomic
from ..analysis import as_record, unit_groups
from ..analysis.dispersion import dispersion, pulse_packets
from ..analysis.information import information_gain, summarize_by_group
from ..errors import input_error
from .checks import science_checks
from .summary import summary_dict

__all__ = ["ReportOptions", "AnalysisResult", "Report", "analyze", "write_report", "analyze_file",
           "SUMMARY_NAME", "HTML_NAME", "UNITS_NAME", "SIGNAL_COLUMNS", "ARRIVAL_MAX_ENTRIES"]

#: The arrival order of the delay section uses the first ``max(1, ARRIVAL_MAX_ENTRIES // (n_pre * n_post))``
#: trials of the record per weight matrix (its cost per permutation is trials x n_pre x n_post).
ARRIVAL_MAX_ENTRIES = 4_000_000

SUMMARY_NAME = "summary.json"
HTML_NAME = "report.html"
UNITS_NAME = "units.csv"
#: Per-unit columns added to ``units.csv`` when a signal is named (tuning curve and information).
SIGNAL_COLUMNS = ("signal_peak_rate_hz", "signal_preferred_bin", "signal_preferred_value", "signal_bits_per_spike",
                  "signal_bits_per_s", "signal_info_p_value")


@dataclass(frozen=True)
class ReportOptions:
    """Parameters of every analysis in the report.

    Attributes
    ----------
    packet : "auto", "before_decision", "decision", (start_ms, stop_ms) or None
        Packet of the dispersion analysis; "auto" = "before_decision" (spikes strictly before the first
        output spike) when the record has decision times, else none.
    active : "auto", "before_decision", "decision", "any" or (start_ms, stop_ms)
        Definition of "active" for the headline information gain and the pathway selectivity
        (:data:`synsem_ephys.analysis.DEFINITIONS`); "auto" = "before_decision" when the record has decision
        times (the definition of Kurth, Oberste-Frielinghaus et al.), else "any".
    secondary_active : "any", ... or None
        A second definition whose IG is shown beside the headline one, never instead of it (None: none).
    labels : None or str
        Class labels for IG: the trials' label, or a trial column name.
    min_spikes : int
        Selected spikes needed to be active.
    min_active_trials, correction, n_shuffles, seed
        Information-gain settings (see :func:`~synsem_ephys.analysis.information.information_gain`).
    spread, ddof : str, int
        Which packet spread the checks use ("median" of per-trial SDs or "pooled" over trials) and its ddof
        (:class:`~synsem_ephys.analysis.PulsePackets`); the report shows both.
    pathway_method, pathway_quantile, pathway_top_k
        Class pathway settings (see :func:`~synsem_ephys.graph.pathways.class_pathways`).
    n_pathway_shuffles : int
        Dale-preserving weight shuffles of the pathway null (:func:`~synsem_ephys.analysis.pathway_null`).
    complexity_bin_ms, complexity_trials : float, int
        Elephant cross-check (0 trials switches it off).
    raster_trial : int or None
        Trial shown in the raster (default: the first correctly classified one, else trial 0).
    min_effect_ig : float
        "IG rises toward 1" also needs the deepest hidden layer's median IG(E) >= this (an untrained,
        calibrated network rises from 0.000 to 0.007: ordered, but no semantisation).
    refractory_ms : float
        Per-unit table of a recording without layers: an ISI shorter than this is a violation (1.5 ms).
    psth_bin_ms : float or "auto"
        Bin of the PSTH per condition ("auto": 1-2-5 steps, at most 150 bins per trial).
    sttc_dt_ms, sttc_max_units : float, int
        Recording without layers: STTC window and the most active units shown in the STTC matrix per
        condition (:func:`~synsem_ephys.analysis.sttc.sttc_by_condition`).
    arrival_max_entries : int
        The delay section's arrival order uses the record's first ``max(1, arrival_max_entries // (n_pre *
        n_post))`` trials per weight matrix (its cost per permutation is trials x n_pre x n_post; default
        :data:`ARRIVAL_MAX_ENTRIES`); the trials used are in the summary (``n_trials``).
    """

    packet: object = "auto"
    active: object = "auto"
    secondary_active: object = "any"
    labels: object = None
    min_spikes: int = 1
    min_active_trials: int = 10
    correction: str = "shuffle"
    n_shuffles: int = 200
    seed: int = 0
    spread: str = "median"
    ddof: int = 1
    pathway_method: str = "influence"
    pathway_quantile: float = 0.9
    pathway_top_k: object = None
    n_pathway_shuffles: int = 20
    complexity_bin_ms: float = 1.0
    complexity_trials: int = 5
    raster_trial: object = None
    min_effect_ig: float = 0.1
    refractory_ms: float = 1.5
    psth_bin_ms: object = "auto"
    sttc_dt_ms: float = 10.0
    sttc_max_units: int = 40
    arrival_max_entries: int = ARRIVAL_MAX_ENTRIES

    @classmethod
    def paper(cls, **changes):
        """The definitions of Kurth, Oberste-Frielinghaus et al. 2025: active = a spike strictly before the
        decision, no bias correction, no minimum of active trials (``changes`` override)."""
        base = dict(active="before_decision", packet="before_decision", correction="none", min_active_trials=1)
        base.update(changes)
        return cls(**base)


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
    information_secondary: object
    ig_summary_secondary: tuple
    pathways: object
    overlap: object
    pathway_activity: object
    overlap_alt: object
    pathway_null: object
    complexity: object
    checks: tuple
    options: ReportOptions
    seconds: dict
    units: object = None
    psth: object = None
    has_layers: bool = True
    signal: object = None
    sttc: object = None
    delays: object = None


@dataclass(frozen=True)
class Report:
    """Files of a written report and the result they show (``units_csv``: the per-unit table, or None)."""

    out_dir: Path
    html: Path
    summary: Path
    figures: dict
    graphml: object
    result: AnalysisResult
    units_csv: object = None


class _Progress:
    def __init__(self, enabled, n_steps):
        self.callback = enabled if callable(enabled) else None
        self.enabled = bool(enabled) and self.callback is None
        self.n, self.k, self.t0, self.t = n_steps, 0, time.perf_counter(), None
        self.seconds = {}
        self.name = None

    def step(self, name):
        now = time.perf_counter()
        if self.name is not None:
            self.seconds[self.name] = round(now - self.t, 3)
        self.k += 1
        self.name, self.t = name, now
        if self.callback is not None and name is not None:
            self.callback(self.k, self.n, name, now - self.t0)
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
    if spec is None:
        from ..io.layout import spec_json
        from ..spec import NetworkSpec

        text = spec_json(record.meta)
        if text is not None:
            spec = NetworkSpec.from_json(text)
        elif isinstance(record.meta.get("spec"), dict):
            spec = NetworkSpec.from_dict(record.meta["spec"])
    ws = [np.asarray(w, float) for w in weights]
    if signs is None and spec is None:
        raise input_error("signs", "presynaptic signs per weight matrix (or spec, or a record with meta['spec'])",
                          None, "Pass (weights, signs) = net.weights_numpy().")
    return ws, signs, spec


def analyze(source, *, weights=None, signs=None, spec=None, accuracy=None, options=None, progress=False, signal=None,
            signal_bins=20, delays=None, initial=None):
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
    progress : bool or callable
        Print one line per step to stderr, or call ``progress(step, n_steps, name, seconds)``.
    signal : str, optional
        A signal of the record (``record.signals``): adds the tuning curves and their information.
    signal_bins : int
        Equal bins over the signal's range (its first channel) for the tuning curves.
    delays : sequence of (array or None), optional
        Per weight matrix its transmission delays in ms (``Network.delays_numpy()``) or None; default: the
        record's provenance (``meta["delays_ms"]``), if any. Adds the delay section (module docstring).
    initial : (weights, delays) or dict, optional
        The network at initialisation, the third null of the E/I structure (module docstring): per weight matrix
        its initial weights (numpy ``(n_pre, n_post)``) and delays (ms, or None per matrix), e.g.
        ``(net0.weights_numpy()[0], net0.delays_numpy())``; or a dict with the keys ``"weights"``, ``"delays"`` and
        optionally ``"source"`` (a string the report shows: where the initial network came from). Used only by
        the delay section with weights.
    """
    return _analyze(source, weights, signs, spec, accuracy, options, progress, signal, signal_bins, delays,
                    initial)[0]


def _signal_information(record, name, bins, active, opts):
    from ..analysis.signals import signal_information

    if name not in record.signals:
        raise input_error("signal", f"a signal of the recording, among {sorted(record.signals) or 'none (it has no signals)'}",
                          repr(name))
    window = active if not isinstance(active, str) else "any"
    return signal_information(record, name, bins=bins, active=window, n_shuffles=opts.n_shuffles, seed=opts.seed)


def _initial_network(initial, n):
    """``initial=`` as (weights, delays, source) with one entry per weight matrix, or None."""
    if initial is None:
        return None
    if isinstance(initial, dict):
        if not {"weights", "delays"} <= set(initial) or not set(initial) <= {"weights", "delays", "source"}:
            raise input_error("initial", "a dict with the keys 'weights', 'delays' (and optionally 'source')",
                              sorted(map(str, initial)))
        w0, d0, src = initial["weights"], initial["delays"], initial.get("source")
    elif isinstance(initial, (tuple, list)) and len(initial) == 2:
        (w0, d0), src = initial, None
    else:
        raise input_error("initial", "(weights, delays) of the network at initialisation, or a dict of them",
                          type(initial).__name__)
    if src is not None and not isinstance(src, str):
        raise input_error("initial['source']", "a string", type(src).__name__)
    for name, v in (("weights", w0), ("delays", d0)):
        if isinstance(v, np.ndarray) or not hasattr(v, "__len__") or len(v) != n:
            raise input_error(f"initial {name}", f"one entry per weight matrix ({n})",
                              f"{len(v)} entries" if hasattr(v, "__len__") else type(v).__name__)
    w0 = [np.asarray(w, np.float64) for w in w0]
    d0 = [None if d is None else np.asarray(d, np.float64) for d in d0]
    return w0, d0, src


def _layer_times(record, layer, n):
    """First spikes (n_trials, n) of the units of ``layer`` in their order, or None if the record has not n of them."""
    sel = np.flatnonzero(np.asarray(record.units.layer) == layer)
    if sel.size != n:
        return None
    return record.first_spike_matrix()[:, sel]


def _arrival_orders(record, ws, delays, signs, matrices, opts):
    """Per matrix with delays the arrival order on the record's first trials (module docstring), or {}."""
    from ..analysis.ei_structure import arrival_order

    out = {}
    cap = opts.arrival_max_entries
    if isinstance(cap, bool) or not isinstance(cap, (int, np.integer)) or cap < 1:
        raise input_error("options.arrival_max_entries", "a positive int (trials x synapses of one permutation)",
                          repr(cap))
    if record.n_spikes == 0 or record.n_trials == 0:
        return out
    for l in matrices:
        n_pre, n_post = ws[l].shape
        pre, post = _layer_times(record, l, n_pre), _layer_times(record, l + 1, n_post)
        if pre is None or post is None:
            continue
        k = int(min(record.n_trials, max(1, cap // max(n_pre * n_post, 1))))
        out[l] = (arrival_order(pre[:k], post[:k], ws[l], delays[l], None if signs is None else signs[l],
                                n_perm=opts.n_shuffles, seed=opts.seed + l), k)
    return out


def _delay_section(record, ws, signs, spec, delays, opts, initial=None):
    """Delay distributions and, with weights, the E/I structure per matrix with delays (None without delays)."""
    from ..analysis.ei_structure import delay_distributions, ei_statistics, receptive_field_centres, record_delays
    from ..io.layout import spec_json
    from ..spec import NetworkSpec

    if spec is None and spec_json(record.meta) is not None:
        spec = NetworkSpec.from_json(spec_json(record.meta))
    if delays is None:
        delays = record_delays(record.meta, spec) if record.meta.get("delays_ms") is not None else None
    if delays is None or all(d is None for d in delays):
        return None
    n = len(delays)
    if ws is not None and len(ws) != n:
        raise input_error("delays", f"one entry per weight matrix ({len(ws)})", f"{n} entries")
    if signs is None and spec is not None:
        signs = [np.asarray(spec.presyn_signs(l)) for l in range(spec.n_layers)]
    if signs is not None and len(signs) != n:
        raise input_error("delays", f"one entry per weight matrix ({len(signs)})", f"{n} entries")
    init = _initial_network(initial, n) if ws is not None else None
    dist = delay_distributions(delays, signs, ws)
    init_dist = None
    if init is not None:
        for l, (w0, w) in enumerate(zip(init[0], ws)):
            if w0.shape != w.shape:
                raise input_error(f"initial weights[{l}]", f"the weights' shape {w.shape}", f"shape {w0.shape}")
            if (init[1][l] is None) != (delays[l] is None):
                raise input_error(f"initial delays[{l}]", "delays where the network has them, None where not",
                                  "None" if init[1][l] is None else "delays")
        init_dist = delay_distributions(init[1], signs, init[0])
        top = [None if d is None else float(max(e[-1], e0[-1])) for d, e, e0 in
               zip(delays, _edges_per_matrix(dist, n), _edges_per_matrix(init_dist, n))]
        dist = delay_distributions(delays, signs, ws, top_ms=top)
        init_dist = delay_distributions(init[1], signs, init[0], top_ms=top)
    ei, arrival = {}, {}
    if ws is not None:
        centres = receptive_field_centres(ws)
        centres0 = None if init is None else receptive_field_centres(init[0])  # space of the initial network
        for l in dist.matrices:
            space = np.nan_to_num(centres[l], nan=-1.0)
            sg = None if signs is None else signs[l]
            ei[l] = ei_statistics(ws[l], delays[l], sg, space=space, n_perm=opts.n_shuffles, seed=opts.seed + l)
            if init is not None:  # the third null: the same statistics on the initial network (no permutation)
                at0 = ei_statistics(init[0][l], init[1][l], sg, space=np.nan_to_num(centres0[l], nan=-1.0), n_perm=0)
                ei[l] = replace(ei[l], init_summary=at0.summary)
        arrival = _arrival_orders(record, ws, delays, signs, dist.matrices, opts)
    return {"distributions": dist, "ei": ei, "space": {l: "input index" if l == 0 else "receptive-field centre"
                                                       for l in dist.matrices},
            "initial_distributions": init_dist, "initial_source": None if init is None else (init[2] or "given"),
            "arrival": arrival}


def _edges_per_matrix(dist, n):
    """The histogram edges of a DelayDistributions per weight matrix (None for one without delays)."""
    by = dict(zip(dist.matrices, dist.edges_ms))
    return [by.get(l, [0.0]) for l in range(n)]


def _analyze(source, weights, signs, spec, accuracy, options, progress, signal=None, signal_bins=20, delays=None,
             initial=None):
    """``analyze`` plus what ``write_report`` needs again: (result, record, groups, (weights, signs, spec))."""
    from ..analysis import describe_definition
    from ..analysis.pathways import pathway_activity, pathway_null
    from ..graph.pathways import class_pathways, pathway_overlap

    record = as_record(source, "source")
    opts = options or ReportOptions()
    if not isinstance(opts, ReportOptions):
        raise input_error("options", "a ReportOptions", type(opts).__name__)
    ws, signs, spec = _signs_and_spec(record, weights, signs, spec)
    groups = unit_groups(record)
    has_layers = groups.by == "layer"
    if signal is not None and signal not in record.signals:  # before any work
        _signal_information(record, signal, signal_bins, "any", opts)
    has_delays = delays is not None or record.meta.get("delays_ms") is not None
    bar = _Progress(progress, 5 + (ws is not None) + (opts.complexity_trials > 0) + (not has_layers) + (signal is not None)
                    + has_delays)
    has_decision = bool(np.any(np.isfinite(record.trials.decision_time_ms)))
    packet = opts.packet
    if packet == "auto":
        packet = "before_decision" if has_decision else None
    active = opts.active
    if active == "auto":
        active = "before_decision" if has_decision else "any"
    opts = replace(opts, packet=packet, active=active)
    bar.step("dispersion of spike times and pulse packets")
    disp = dispersion(record, packet=packet)
    packets = pulse_packets(disp, ddof=opts.ddof) if packet is not None else None
    packets_all = pulse_packets(disp, "all", ddof=opts.ddof)
    bar.step(f"information gain ({describe_definition(active)}; {opts.correction})")
    ig_kw = dict(labels=opts.labels, min_spikes=opts.min_spikes, min_active_trials=opts.min_active_trials,
                 correction=opts.correction, n_shuffles=opts.n_shuffles, seed=opts.seed)
    from ..analysis.information import class_labels

    lab, _ = class_labels(record, opts.labels)
    can_ig = np.unique(lab[lab >= 0]).size >= 2
    ig, ig_sum = None, ()
    if can_ig:
        ig = information_gain(record, active=active, **ig_kw)
        ig_sum = summarize_by_group(ig, record)
    ig2, ig2_sum = None, ()
    second = opts.secondary_active
    if can_ig and second is not None and second != active and (has_decision or second not in ("decision", "before_decision")):
        bar.step(f"information gain, secondary ({describe_definition(second)})")
        ig2 = information_gain(record, active=second, **ig_kw)
        ig2_sum = summarize_by_group(ig2, record)
    else:
        bar.step("information gain, secondary (skipped)")
    units = hist = cond_sttc = None
    if not has_layers:
        from ..analysis.units import psth, unit_table

        bar.step(f"per-unit table, PSTH and STTC per condition (refractory {opts.refractory_ms:g} ms, "
                 f"STTC window {opts.sttc_dt_ms:g} ms)")
        units = unit_table(record, active=active, labels=opts.labels, refractory_ms=opts.refractory_ms,
                           min_spikes=opts.min_spikes, min_active_trials=opts.min_active_trials,
                           correction=opts.correction, n_shuffles=opts.n_shuffles, seed=opts.seed, information=ig)
        hist = psth(record, labels=opts.labels, bin_ms=opts.psth_bin_ms)
        from ..analysis.sttc import sttc_by_condition

        cond_sttc = sttc_by_condition(record, opts.sttc_dt_ms, labels=opts.labels, max_units=opts.sttc_max_units)
    sig_info = None
    if signal is not None:
        bar.step(f"tuning curves and information about signal {signal!r} ({opts.n_shuffles} circular shifts)")
        sig_info = _signal_information(record, signal, signal_bins, active, opts)
    pw = ov = pa = ov_alt = nul = None
    if ws is not None:
        bar.step(f"class pathways ({opts.pathway_method}) and their null ({opts.n_pathway_shuffles} shuffles)")
        pw = class_pathways(ws, signs, spec=spec, method=opts.pathway_method, quantile=opts.pathway_quantile,
                            top_k=opts.pathway_top_k)
        ov = pathway_overlap(pw)
        alt = "ancestors" if opts.pathway_method == "influence" else "influence"
        ov_alt = pathway_overlap(class_pathways(ws, signs, spec=spec, method=alt, quantile=opts.pathway_quantile,
                                                top_k=opts.pathway_top_k))
        lab_ok = record.trials.label[record.trials.label >= 0]
        if lab_ok.size and lab_ok.max() < pw.n_classes:
            pa = pathway_activity(pw, record, active=active, labels=opts.labels, min_spikes=opts.min_spikes)
            if opts.n_pathway_shuffles > 0:
                nul = pathway_null(ws, signs, record, spec=spec, n_shuffles=opts.n_pathway_shuffles, seed=opts.seed,
                                   method=opts.pathway_method, quantile=opts.pathway_quantile, top_k=opts.pathway_top_k,
                                   active=active, labels=opts.labels, min_spikes=opts.min_spikes)
    dsec = None
    if has_delays:
        bar.step(f"transmission delays per E/I type and the E/I structure ({opts.n_shuffles} permutations per null)")
        dsec = _delay_section(record, ws, signs, spec, delays, opts, initial)
    cx = None
    if opts.complexity_trials > 0:
        bar.step("Elephant complexity cross-check")
        cx = _complexity(record, opts)
    bar.step("science checks")
    acc = _accuracy(record) if accuracy is None else float(accuracy)
    res = AnalysisResult(str(record.meta.get("source", "")), record.n_units, record.n_trials, record.n_spikes,
                         record.trial_duration_ms, groups.names, acc, disp, packets, packets_all, ig, ig_sum, ig2,
                         ig2_sum, pw, ov, pa, ov_alt, nul, cx, (), opts, {}, units, hist, has_layers, sig_info,
                         cond_sttc, dsec)
    res = replace(res, checks=science_checks(res, groups))
    bar.done()
    return replace(res, seconds=dict(bar.seconds)), record, groups, (ws, signs, spec)


def _complexity(record, opts):
    import warnings

    from ..analysis.complexity import complexity_by_group

    dec = record.trials.decision_time_ms
    trials = np.flatnonzero(np.isfinite(dec)) if np.any(np.isfinite(dec)) else np.arange(record.n_trials)
    with warnings.catch_warnings():  # local: Elephant's quantities deprecation flood
        warnings.simplefilter("ignore", DeprecationWarning)
        return complexity_by_group(record, bin_ms=opts.complexity_bin_ms, trials=trials[: opts.complexity_trials])


# ------------------------------------------------------------------------------------------ files
def write_report(source, out_dir, *, weights=None, signs=None, spec=None, accuracy=None, progress=True,
                 options=None, graphml=True, signal=None, signal_bins=20, delays=None, initial=None):
    """Analyse ``source`` and write ``out_dir/report.html``, ``summary.json`` and the PNG figures.

    Parameters
    ----------
    source : SpikeRecord or neo.Block
    out_dir : str or Path
        Created if missing; existing report files are overwritten.
    weights, signs, spec, accuracy, options
        See :func:`analyze`.
    progress : bool or callable
        One line per step on stderr, or a callable (see :func:`analyze`).
    graphml : bool
        Also write ``pathways.graphml`` when weights are given.
    signal, signal_bins
        See :func:`analyze`: the tuning-curve section and its figure ``tuning.png``.
    delays
        See :func:`analyze`: the delay section and its figure ``delays.png`` (default: the record's provenance).
    initial
        See :func:`analyze`: the network at initialisation, the third null of the E/I structure.

    Returns
    -------
    Report
    """
    from . import figures as rf
    from .html import render_html

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    res, record, groups, (ws, sg, sp) = _analyze(source, weights, signs, spec, accuracy, options, progress, signal,
                                                 signal_bins, delays, initial)
    t0 = time.perf_counter()
    if progress is True:
        print("writing figures, summary and report.html ...", file=sys.stderr, flush=True)
    figs = {}
    trial = _raster_trial(record, res.options.raster_trial)
    hist = np.arange(min(record.n_trials, 2000))
    figs["raster"] = rf.raster_figure(record, groups, res.dispersion, trial, out / "raster.png", hist_trials=hist)
    if res.has_layers:  # the plots across depth; a recording without layers keeps the table only
        figs["dispersion"] = rf.dispersion_figure(res.dispersion, res.packets or res.packets_all, res.complexity,
                                                  out / "dispersion.png")
    upath = None
    if res.units is not None:
        figs["psth"] = rf.psth_figure(res.psth, out / "psth.png")
        upath = write_text_atomic(out / UNITS_NAME, units_csv(res.units, res.signal))
    if res.sttc is not None and res.sttc.unit_rows.size >= 2:
        figs["sttc"] = rf.sttc_figure(res.sttc, out / "sttc.png")
    if res.signal is not None:
        figs["tuning"] = rf.tuning_figure(res.signal, out / "tuning.png")
    if res.delays is not None:
        figs["delays"] = rf.delay_figure(res.delays["distributions"], out / "delays.png",
                                         initial=res.delays.get("initial_distributions"))
    if res.information is not None:
        figs["information"] = rf.ig_figure(res.information, groups, out / "information_gain.png",
                                           more=[res.information_secondary])
    if res.overlap is not None:
        figs["pathways"] = rf.pathway_figure(res.overlap, res.pathway_activity, out / "pathways.png",
                                             alternative=res.overlap_alt, method=res.pathways.method,
                                             null=res.pathway_null)
    if res.accuracy is not None and np.any(record.trials.prediction >= 0):
        names = res.information.class_names if res.information is not None else ()
        k = int(max(record.trials.label.max(), record.trials.prediction.max())) + 1
        names = tuple(str(c) for c in range(k)) if len(names) != k else names
        figs["accuracy"] = rf.accuracy_figure(record.trials.label, record.trials.prediction, names, res.accuracy,
                                              out / "accuracy.png")
    gpath = None
    if graphml and res.pathways is not None:
        from ..graph.pathways import pathway_graph
        from ..graph.weights import write_graphml

        gpath = write_graphml(pathway_graph(res.pathways, ws, sg, spec=sp), out / "pathways.graphml")
    summary = summary_dict(res)
    summary["figures"] = {k: v.name for k, v in figs.items()}
    summary["graphml"] = None if gpath is None else Path(gpath).name
    summary["units_csv"] = None if upath is None else UNITS_NAME
    summary["raster_trial"] = int(trial)
    summary["seconds"]["files"] = round(time.perf_counter() - t0, 3)
    spath = out / SUMMARY_NAME
    write_text_atomic(spath, json_dumps(summary, indent=1, allow_nan=False))
    hpath = out / HTML_NAME
    write_text_atomic(hpath, render_html(summary, record.meta))
    if progress is True:
        print(f"report written to {hpath}", file=sys.stderr, flush=True)
    return Report(out, hpath, spath, figs, gpath, res, upath)


def signal_rows(info):
    """Per-unit values of a :class:`~synsem_ephys.analysis.signals.SignalInformation` (keys :data:`SIGNAL_COLUMNS`)."""
    tc = info.tuning
    return [{"signal_peak_rate_hz": float(tc.peak_rate_hz[i]), "signal_preferred_bin": int(tc.preferred_bin[i]),
             "signal_preferred_value": float(tc.preferred_value[i]), "signal_bits_per_spike": float(info.bits_per_spike[i]),
             "signal_bits_per_s": float(info.bits_per_s[i]), "signal_info_p_value": float(info.p_value[i])}
            for i in range(tc.unit_names.size)]


def units_csv(units, signal=None):
    """The per-unit table (:class:`~synsem_ephys.analysis.units.UnitStats`) as CSV text, one row per unit
    (columns :attr:`~synsem_ephys.analysis.units.UnitStats.COLUMNS`, and :data:`SIGNAL_COLUMNS` when a
    :class:`~synsem_ephys.analysis.signals.SignalInformation` is given; NaN as an empty field)."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(units.COLUMNS) + (list(SIGNAL_COLUMNS) if signal is not None else []),
                       lineterminator="\n")
    w.writeheader()
    extra = signal_rows(signal) if signal is not None else [{}] * len(units.rows())
    for row, more in zip(units.rows(), extra):
        row = dict(row, **more)
        w.writerow({k: ("" if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()})
    return buf.getvalue()


def _raster_trial(record, trial):
    if trial is not None:
        if not 0 <= int(trial) < record.n_trials:
            raise input_error("raster_trial", f"a trial index in [0, {record.n_trials})", trial)
        return int(trial)
    ok = np.flatnonzero((record.trials.label >= 0) & (record.trials.prediction == record.trials.label))
    return int(ok[0]) if ok.size else 0


def analyze_file(path, out_dir, *, weights=None, signs=None, spec=None, accuracy=None, progress=True, options=None, read_options=None,
                 graphml=True, signal=None, signal_bins=20, reader=None, network_delays=None, initial=None):
    """Read a recording file (``.nix`` written by synsem_ephys, or ``.nwb``) and write its report.

    Read with :func:`synsem_ephys.io.read_recording` (``read_options`` are passed to it, e.g. ``trials``,
    ``align``, ``window_ms``, ``label_column`` of :func:`synsem_ephys.io.read_nwb`); ``.nwb`` files with the
    trial-type and population columns found automatically unless given (``label_column="auto"``). For in-vivo files pass ``options`` with a response
    window (``active=(start_ms, stop_ms)``, ``packet=...``, ``min_spikes``): "any spike in a trial of
    several seconds" makes almost every unit active in every trial.

    Parameters are those of :func:`write_report`; the network spec for pathways is taken from the
    file's provenance (``meta['spec']``) when ``spec`` and ``signs`` are not given. With ``signal``, an
    ``.nwb`` file is read with ``signals="all"`` unless ``read_options`` say otherwise. NWB is told by the
    file's content (:func:`synsem_ephys.io.files.recording_kind`), not its suffix.

    ``reader``: a callable ``reader(path, **read_options) -> SpikeRecord`` used instead of
    :func:`~synsem_ephys.io.read_recording`, e.g. :func:`synsem_ephys.adapters.any_file.read_any`, which also
    reads spike-time text files (it must pickle, for :func:`analyze_many` on a process pool).

    ``network_delays``: the delays of the network given for the pathways (``Network.delays_numpy()``), used when
    the recording's provenance holds none (a record made with ``delays_in_meta=False``); otherwise the provenance
    wins: it holds what was simulated (rounded delays included). ``initial``: see :func:`analyze`.
    """
    from ..io.files import read_recording, recording_kind

    opts = dict(read_options or {})
    if recording_kind(path) == "NWB":
        opts = {"label_column": "auto", "population_column": "auto", **opts}
        if signal is not None:
            opts.setdefault("signals", "all")
    record = (reader or read_recording)(path, **opts)
    return write_report(record, out_dir, weights=weights, signs=signs, spec=spec, accuracy=accuracy,
                        progress=progress, options=options, graphml=graphml, signal=signal, signal_bins=signal_bins,
                        delays=None if record.meta.get("delays_ms") is not None else network_delays,
                        initial=initial)
