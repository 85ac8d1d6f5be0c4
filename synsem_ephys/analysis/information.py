r"""Semantisation: information gain of a unit about the class when it is active.

Over the ``N`` labelled trials with classes ``c`` (counts ``N_c``) and a unit that is *active* in the
subset ``A`` of trials (``n = |A|``, ``n_c`` of them of class ``c``)::

    H(C)          = - sum_c (N_c / N) log2 (N_c / N)
    H(C | active) = - sum_c (n_c / n) log2 (n_c / n)
    IG            = (H(C) - H(C | active)) / H(C)

IG = 1: the unit is active for one class only (fully class specific); IG ~ 0: its activity says
nothing about the class; IG < 0 is possible when the active trials are spread more evenly over the
classes than the class prior. Units active in fewer than ``min_active_trials`` trials get NaN.

"Active" is a parameter (:func:`synsem_ephys.analysis.spike_mask`): a spike anywhere in the trial
(``"any"``), a spike strictly before the trial's decision time (``"before_decision"``, the definition of
Kurth, Oberste-Frielinghaus et al. 2025), a spike at or before it (``"decision"``), or a spike in a window
``(start_ms, stop_ms)``; with ``min_spikes``
(> 1, or one threshold per unit) a unit must fire at least that many selected spikes (for units with
a high background rate, e.g. in vivo).

Small-sample bias: the plug-in entropy ``H(C | active)`` is biased low for small ``n`` (by about
``(m - 1) / (2 n ln 2)`` bits, ``m`` = classes seen; Miller 1955), so raw IG is biased up. Corrections:

* ``"shuffle"`` (default): labels are permuted across trials ``n_shuffles`` times (seeded); with the
  null mean ``IG_0`` of each unit the corrected value is ``(IG - IG_0) / (1 - IG_0)`` (0 at chance,
  1 stays 1) and ``p = (1 + #{IG_null >= IG}) / (1 + n_shuffles)``.
* ``"miller-madow"``: both entropies get ``+ (m - 1) / (2 n ln 2)``.
* ``"none"``: the plug-in value.

All units are evaluated at once: class counts of the active trials are one matrix product
``active.T @ onehot(labels)``, and the shuffles stack permuted one-hot matrices side by side.
"""

from dataclasses import dataclass

import numpy as np

from ..errors import input_error
from ._common import as_record, describe_definition, spike_mask, unit_groups

__all__ = ["InformationGain", "IGGroupSummary", "activity_matrix", "class_labels", "information_gain",
           "information_gain_from_activity", "summarize_by_group", "CORRECTIONS"]

#: Bias corrections understood by :func:`information_gain`.
CORRECTIONS = ("shuffle", "miller-madow", "none")


def activity_matrix(source, active="any", *, min_spikes=1):
    """Boolean ``(n_trials, n_units)``: unit active in trial (>= ``min_spikes`` selected spikes).

    Parameters
    ----------
    source : SpikeRecord or neo.Block
    active : "any", "before_decision", "decision" or (start_ms, stop_ms)
        Which spikes count (see the module docstring).
    min_spikes : int or array of int, shape (n_units,)
        Threshold on the number of selected spikes; per unit if an array.
    """
    record = as_record(source, "source")
    mask = spike_mask(record, active, "active")
    flat = record.trial_index[mask] * record.n_units + record.unit_index[mask]
    counts = np.bincount(flat, minlength=record.n_trials * record.n_units).reshape(record.n_trials, record.n_units)
    thr = np.asarray(min_spikes)
    if thr.ndim == 0:
        thr = np.full(record.n_units, thr)
    if thr.shape != (record.n_units,) or thr.dtype.kind not in "iuf" or np.any(thr < 1):
        raise input_error("min_spikes", f"an int >= 1 or one per unit (shape ({record.n_units},))",
                          f"{np.asarray(min_spikes)!r}")
    return counts >= thr[None, :]


def class_labels(record, labels=None):
    """Per-trial class codes (``-1`` = unlabelled) and class names.

    ``labels``: None (the trial table's ``label``), the name of a trial column (its distinct values
    become classes, sorted), or an int array of length ``n_trials``.
    """
    if labels is None:
        lab = np.asarray(record.trials.label, np.int64)
        names = record.trials.label_names or tuple(str(c) for c in range(int(lab.max(initial=-1)) + 1))
        return lab, tuple(names)
    if isinstance(labels, str):
        if labels not in record.trials.columns:
            raise input_error("labels", f"a trial column among {sorted(record.trials.columns)}", repr(labels))
        col = np.asarray(record.trials.columns[labels])
        names, codes = np.unique(col, return_inverse=True)
        return codes.astype(np.int64), tuple(str(n) for n in names)
    lab = np.asarray(labels)
    if lab.shape != (record.n_trials,) or lab.dtype.kind not in "iu":
        raise input_error("labels", f"an int array of shape ({record.n_trials},)", f"dtype {lab.dtype}, shape {lab.shape}")
    return lab.astype(np.int64), tuple(str(c) for c in range(int(lab.max(initial=-1)) + 1))


def _entropy_bits(counts, correction):
    """Entropy (bits) of each row of non-negative ``counts`` (..., K); NaN for empty rows."""
    counts = np.asarray(counts, float)
    n = counts.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = counts / n[..., None]
        h = -np.sum(np.where(counts > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0), axis=-1)
        if correction == "miller-madow":
            m = np.sum(counts > 0, axis=-1)
            h = h + (m - 1) / (2.0 * n * np.log(2.0))
    return np.where(n > 0, h, np.nan)


@dataclass(frozen=True, eq=False)
class InformationGain:
    """Information gain per unit (see the module docstring); arrays of shape (n_units,).

    Attributes
    ----------
    ig : ndarray
        The corrected IG (equal to ``ig_raw`` for correction "none"); NaN below ``min_active_trials``.
    ig_raw : ndarray
        Plug-in IG (Miller-Madow-corrected entropies for "miller-madow").
    null_mean : ndarray
        Mean IG under label shuffles (NaN unless correction "shuffle").
    p_value : ndarray
        Shuffle p-value (NaN unless correction "shuffle").
    n_active : ndarray of int64
        Labelled trials in which the unit is active.
    h_class_bits : float
        H(C) over the labelled trials.
    n_trials, n_classes : int
        Labelled trials used and classes present.
    class_names : tuple of str
    unit_names, population, cell_type : ndarray of str
    layer : ndarray of int64
    definition, correction : str
    min_active_trials, n_shuffles : int
    """

    ig: np.ndarray
    ig_raw: np.ndarray
    null_mean: np.ndarray
    p_value: np.ndarray
    n_active: np.ndarray
    h_class_bits: float
    n_trials: int
    n_classes: int
    class_names: tuple
    unit_names: np.ndarray
    population: np.ndarray
    cell_type: np.ndarray
    layer: np.ndarray
    definition: str
    correction: str
    min_active_trials: int
    n_shuffles: int

    @property
    def valid(self):
        """Units with enough active trials (finite IG)."""
        return np.isfinite(self.ig)


def _ig_from_counts(counts_uk, h_c, correction):
    return (h_c - _entropy_bits(counts_uk, correction)) / h_c


def _shuffle_task(task):
    """IG under a chunk of label permutations: (sum over the chunk, count >= the observed IG) per unit."""
    a, onehot, perms, raw, h_c0 = task
    s, k = perms.shape[0], onehot.shape[1]
    y = onehot[perms].transpose(1, 0, 2).reshape(onehot.shape[0], s * k)   # (n_trials, s * k)
    counts = (a.T @ y).reshape(a.shape[1], s, k)                           # one GEMM for s shuffles
    ig0 = _ig_from_counts(counts, h_c0, "none")                            # (n_units, s)
    return ig0.sum(axis=1), (ig0 >= raw[:, None] - 1e-12).sum(axis=1)


def information_gain_from_activity(active, labels, *, min_active_trials=10, correction="shuffle", n_shuffles=200,
                                   seed=0, chunk=32, executor=None):
    """IG of each column of a boolean activity matrix about integer ``labels``.

    Parameters
    ----------
    active : array of bool, shape (n_trials, n_units)
    labels : array of int, shape (n_trials,)
        Class per trial; ``-1`` (unlabelled) trials are left out.
    min_active_trials : int
        Units active in fewer labelled trials get NaN.
    correction : {"shuffle", "miller-madow", "none"}
    n_shuffles : int
        Label permutations for "shuffle".
    seed : int
        Seed of the permutations.
    chunk : int
        Shuffles per matrix product (memory only; also the size of one task on an executor).
    executor : None or an executor (:func:`synsem_ephys.parallel.map_tasks`)
        Runs the shuffle chunks as tasks; the permutations are drawn here, so the result equals the serial one.

    Returns
    -------
    InformationGain
        With generic unit metadata (``unit0`` ...); :func:`information_gain` fills it from a record.
    """
    act = np.asarray(active)
    lab = np.asarray(labels)
    if act.ndim != 2 or act.dtype != bool:
        raise input_error("active", "a 2-D bool array (n_trials, n_units)", f"dtype {act.dtype}, shape {act.shape}")
    if lab.shape != (act.shape[0],) or lab.dtype.kind not in "iu":
        raise input_error("labels", f"an int array of shape ({act.shape[0]},)", f"dtype {lab.dtype}, shape {lab.shape}")
    if correction not in CORRECTIONS:
        raise input_error("correction", f"one of {CORRECTIONS}", repr(correction))
    if isinstance(min_active_trials, bool) or int(min_active_trials) < 1:
        raise input_error("min_active_trials", "an int >= 1", repr(min_active_trials))
    if correction == "shuffle" and int(n_shuffles) < 1:
        raise input_error("n_shuffles", "an int >= 1 for correction='shuffle'", repr(n_shuffles))
    keep = lab >= 0
    act, lab = act[keep], lab[keep]
    classes, codes = np.unique(lab, return_inverse=True)
    n_units = act.shape[1]
    k = classes.size
    if k < 2:
        raise input_error("labels", "at least two classes among the labelled trials", f"{k} class(es)",
                          "IG about the class needs trials of several classes.")
    onehot = np.zeros((lab.size, k))
    onehot[np.arange(lab.size), codes] = 1.0
    a = act.astype(float)
    h_c = float(_entropy_bits(onehot.sum(axis=0), correction))
    n_active = act.sum(axis=0).astype(np.int64)
    raw = _ig_from_counts(a.T @ onehot, h_c, correction)
    ok = n_active >= int(min_active_trials)
    raw = np.where(ok, raw, np.nan)
    null = np.full(n_units, np.nan)
    pval = np.full(n_units, np.nan)
    ig = raw
    if correction == "shuffle":
        rng = np.random.default_rng(seed)
        total = np.zeros(n_units)
        exceed = np.zeros(n_units)
        left = int(n_shuffles)
        h_c0 = float(_entropy_bits(onehot.sum(axis=0), "none"))
        chunks = []  # every permutation is drawn here, in order: any executor gives the serial result
        while left:
            s = min(chunk, left)
            chunks.append(np.stack([rng.permutation(lab.size) for _ in range(s)]))
            left -= s
        from ..parallel import map_tasks

        for t, e in map_tasks(_shuffle_task, [(a, onehot, perms, raw, h_c0) for perms in chunks], executor=executor):
            total += t
            exceed += e
        null = np.where(ok, total / int(n_shuffles), np.nan)
        pval = np.where(ok, (1.0 + exceed) / (1.0 + int(n_shuffles)), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            ig = np.where(null < 1.0, (raw - null) / (1.0 - null), 0.0)
        ig = np.where(ok, ig, np.nan)
    names = np.array([f"unit{i}" for i in range(n_units)])
    return InformationGain(ig, raw, null, pval, n_active, h_c, int(lab.size), int(k), tuple(str(c) for c in classes),
                           names, np.full(n_units, "unit"), np.full(n_units, "unknown"), np.full(n_units, -1),
                           "given activity", correction, int(min_active_trials), int(n_shuffles) if correction == "shuffle" else 0)


def information_gain(source, *, active="any", labels=None, min_spikes=1, min_active_trials=10, correction="shuffle",
                     n_shuffles=200, seed=0, executor=None):
    """IG of every unit of a recording about the trial class (simulated or in vivo).

    Parameters
    ----------
    source : SpikeRecord or neo.Block
    active : "any", "before_decision", "decision" or (start_ms, stop_ms)
        Definition of "active" (see the module docstring).
    labels : None, str or array of int
        See :func:`class_labels` (default: the trials' ``label``; e.g. ``"type"`` for DANDI trial type).
    min_spikes : int or array
        Spikes needed to count as active (per unit if an array).
    min_active_trials, correction, n_shuffles, seed, executor
        See :func:`information_gain_from_activity`.

    Returns
    -------
    InformationGain
    """
    record = as_record(source, "source")
    act = activity_matrix(record, active, min_spikes=min_spikes)
    lab, names = class_labels(record, labels)
    res = information_gain_from_activity(act, lab, min_active_trials=min_active_trials, correction=correction,
                                         n_shuffles=n_shuffles, seed=seed, executor=executor)
    present = tuple(names[int(c)] if 0 <= int(c) < len(names) else c for c in res.class_names)
    u = record.units
    desc = describe_definition(active)
    if np.ndim(min_spikes) or int(min_spikes) > 1:
        desc += " (>= min_spikes selected spikes)"
    return InformationGain(res.ig, res.ig_raw, res.null_mean, res.p_value, res.n_active, res.h_class_bits,
                           res.n_trials, res.n_classes, present, np.asarray(u.name), np.asarray(u.population),
                           np.asarray(u.cell_type), np.asarray(u.layer), desc, res.correction,
                           res.min_active_trials, res.n_shuffles)


@dataclass(frozen=True)
class IGGroupSummary:
    """IG of the valid units of one (group, cell type).

    ``n_units`` units, ``n_valid`` with enough active trials; ``median``/``q25``/``q75``/``mean`` of their
    IG; ``frac_significant`` = share of valid units with shuffle p < ``alpha`` (NaN without shuffles).
    """

    group: str
    layer: int
    cell_type: str
    n_units: int
    n_valid: int
    median: float
    q25: float
    q75: float
    mean: float
    frac_significant: float


def summarize_by_group(result, source=None, *, group_by="auto", alpha=0.05):
    """Per (group, cell type) summaries of an :class:`InformationGain`.

    Groups are layers (or populations when ``source`` has no layers); ``source`` defaults to the
    result's own unit metadata (layer, population).
    """
    if not isinstance(result, InformationGain):
        raise input_error("result", "an InformationGain", type(result).__name__)
    if source is not None:
        record = as_record(source, "source")
        if record.n_units != result.ig.size:
            raise input_error("source", f"a record with {result.ig.size} units (as the result)", record.n_units)
        groups = unit_groups(record, group_by)
        of_unit, names, layers = groups.of_unit, groups.names, groups.layer
    elif np.all(result.layer >= 0) and group_by != "population":
        layers, of_unit = np.unique(result.layer, return_inverse=True)
        names = tuple(f"layer{l}" for l in layers)
    else:
        pops, of_unit = np.unique(result.population, return_inverse=True)
        names, layers = tuple(pops.tolist()), np.full(pops.size, -1)
    out = []
    for g, name in enumerate(names):
        for ct in sorted(set(result.cell_type[of_unit == g].tolist())):
            sel = (of_unit == g) & (result.cell_type == ct)
            v = result.ig[sel]
            fin = v[np.isfinite(v)]
            p = result.p_value[sel][np.isfinite(v)]
            q = np.quantile(fin, [0.25, 0.5, 0.75]) if fin.size else [np.nan] * 3
            sig = float(np.mean(p < alpha)) if fin.size and np.all(np.isfinite(p)) else float("nan")
            out.append(IGGroupSummary(str(name), int(layers[g]), str(ct), int(sel.sum()), int(fin.size), float(q[1]),
                                      float(q[0]), float(q[2]), float(fin.mean()) if fin.size else float("nan"), sig))
    return tuple(out)
