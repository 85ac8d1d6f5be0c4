r"""Per-unit statistics of a recording (in vivo or simulated) and the PSTH per condition.

Over the trials ``r`` with durations ``D_r`` (the trial column ``duration_ms``, else ``trial_duration_ms``)
and a unit with ``n_r`` spikes at ``t_{r,1} <= t_{r,2} <= ...`` in trial ``r`` (:func:`unit_table`)::

    rate_hz          = 1000 * sum_r n_r / sum_r D_r          every spike of every trial, over the trials' durations
    ISI              = t_{r,i+1} - t_{r,i}                   within a trial only: no interval spans two trials
    cv_isi           = SD(ISI) / mean(ISI)                   SD with ddof = 1; NaN with fewer than 2 ISIs
    isi_violations   = #{ISI < refractory_ms} / #ISI         strictly shorter than refractory_ms (1.5 ms);
                                                             NaN without ISIs
    P(active | c)    = #{trials of class c in which the unit is active} / #{trials of class c}
    preferred        = argmax_c P(active | c)                ties to the lowest class; -1 when never active
    IG, p            = :func:`~synsem_ephys.analysis.information.information_gain` under the same ``active``,
                       its correction and (for "shuffle") its label-shuffle p-value

"Active" is a definition the caller names (:func:`synsem_ephys.analysis.spike_mask`: ``"any"``, the
decision selections, or a window ``(start_ms, stop_ms)``; with ``min_spikes`` selected spikes); classes come
from :func:`~synsem_ephys.analysis.information.class_labels` (unlabelled trials, ``-1``, are left out of
P(active | c), IG and the preferred condition, not of the rate and the ISIs).

PSTH (:func:`psth`), every spike aligned to the trial start (``t = 0``), trials grouped by class::

    rate_{c,u}(b) = 1000 * (spikes of u in bin b over the trials of c covering b) / (N_c(b) * width_b)

with bins ``[w0 + k * bin_ms, w0 + (k + 1) * bin_ms)`` over the window ``(w0, w1)`` (the last one cut at
``w1``), and ``N_c(b)`` the trials of class ``c`` whose own duration reaches the bin's end (a shorter trial
adds neither spikes nor time to that bin).
"""

import math
from dataclasses import dataclass

import numpy as np

from ..errors import input_error
from ._common import as_record, describe_definition
from .information import InformationGain, activity_matrix, class_labels, information_gain

__all__ = ["UnitStats", "unit_table", "Psth", "psth", "auto_bin_ms", "trial_durations_ms"]


def trial_durations_ms(record):
    """The duration of every trial: the trial column ``duration_ms``, else ``trial_duration_ms``."""
    d = record.trials.columns.get("duration_ms")
    return np.asarray(d, float) if d is not None else np.full(record.n_trials, record.trial_duration_ms)


def _positive(value, argument):
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if isinstance(value, bool) or not (math.isfinite(v) and v > 0):
        raise input_error(argument, "a finite float > 0 (ms)", repr(value))
    return v


@dataclass(frozen=True, eq=False)
class UnitStats:
    """Per-unit statistics (see the module docstring); arrays of shape (n_units,) unless stated.

    Attributes
    ----------
    unit_names, population, cell_type : ndarray of str
    n_spikes : ndarray of int64
        Every spike of the unit in the record.
    rate_hz : ndarray
        ``1000 * n_spikes / total_duration_ms``.
    n_isi, n_isi_violations : ndarray of int64
        Within-trial inter-spike intervals, and those shorter than ``refractory_ms``.
    cv_isi, isi_violation_fraction : ndarray
    n_active : ndarray of int64
        Labelled trials in which the unit is active.
    p_active : ndarray, shape (n_units, n_classes)
        P(active | class), columns in the order of ``class_names``.
    preferred : ndarray of int64
        Column of ``p_active`` with the highest value (ties to the lowest), -1 when never active.
    preferred_name : ndarray of str
        Its class name ("" for -1).
    ig, ig_p_value : ndarray
        Information gain about the class and its shuffle p-value (NaN when not computable:
        :meth:`ig_missing_reason` says why).
    class_names : tuple of str
    total_duration_ms : float
        Sum of the trials' durations.
    refractory_ms : float
    definition, correction : str
        Which spikes make a unit active; the IG's bias correction.
    n_shuffles, min_active_trials : int
    """

    unit_names: np.ndarray
    population: np.ndarray
    cell_type: np.ndarray
    n_spikes: np.ndarray
    rate_hz: np.ndarray
    n_isi: np.ndarray
    cv_isi: np.ndarray
    n_isi_violations: np.ndarray
    isi_violation_fraction: np.ndarray
    n_active: np.ndarray
    p_active: np.ndarray
    preferred: np.ndarray
    preferred_name: np.ndarray
    ig: np.ndarray
    ig_p_value: np.ndarray
    class_names: tuple
    total_duration_ms: float
    refractory_ms: float
    definition: str
    correction: str
    n_shuffles: int
    min_active_trials: int

    #: Column names of :meth:`rows` (and of the report's ``units.csv``), in order.
    COLUMNS = ("unit", "population", "cell_type", "n_spikes", "rate_hz", "cv_isi", "n_isi", "isi_violation_fraction",
               "n_isi_violations", "n_active_trials", "ig", "ig_p_value", "ig_missing_reason", "preferred",
               "p_active_preferred")

    def ig_missing_reason(self, i):
        """Why unit ``i`` has no IG (NaN), in words; "" when it has one."""
        if np.isfinite(self.ig[i]):
            return ""
        if len(self.class_names) < 2:
            return f"fewer than 2 conditions among the labelled trials ({len(self.class_names)})"
        if self.n_active[i] < self.min_active_trials:
            return (f"active in {int(self.n_active[i])} labelled trials, fewer than min_active_trials = "
                    f"{self.min_active_trials}")
        return "not computed"

    def rows(self):
        """One dict per unit with the keys :attr:`COLUMNS` (plain Python values; NaN stays NaN)."""
        out = []
        for i in range(self.unit_names.size):
            k = int(self.preferred[i])
            out.append({"unit": str(self.unit_names[i]), "population": str(self.population[i]),
                        "cell_type": str(self.cell_type[i]), "n_spikes": int(self.n_spikes[i]),
                        "rate_hz": float(self.rate_hz[i]), "cv_isi": float(self.cv_isi[i]), "n_isi": int(self.n_isi[i]),
                        "isi_violation_fraction": float(self.isi_violation_fraction[i]),
                        "n_isi_violations": int(self.n_isi_violations[i]), "n_active_trials": int(self.n_active[i]),
                        "ig": float(self.ig[i]), "ig_p_value": float(self.ig_p_value[i]),
                        "ig_missing_reason": self.ig_missing_reason(i), "preferred": str(self.preferred_name[i]),
                        "p_active_preferred": float(self.p_active[i, k]) if k >= 0 else float("nan")})
        return out


def _isi_stats(record, refractory_ms):
    """(n_isi, cv, n_violations) per unit from within-trial intervals."""
    order = np.lexsort((record.times_ms, record.trial_index, record.unit_index))
    u, r, t = record.unit_index[order], record.trial_index[order], record.times_ms[order]
    same = (u[1:] == u[:-1]) & (r[1:] == r[:-1])
    isi = (t[1:] - t[:-1])[same]
    owner = u[1:][same]
    n = record.n_units
    count = np.bincount(owner, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(owner, weights=isi, minlength=n) / count
        var = np.bincount(owner, weights=(isi - mean[owner]) ** 2, minlength=n) / (count - 1)
        cv = np.where(count >= 2, np.sqrt(var) / mean, np.nan)
    viol = np.bincount(owner, weights=(isi < refractory_ms).astype(float), minlength=n).astype(np.int64)
    return count.astype(np.int64), cv, viol


def unit_table(source, *, active, labels, refractory_ms=1.5, min_spikes=1, min_active_trials=10, correction="shuffle",
               n_shuffles=200, seed=0, information=None):
    """Per-unit rate, ISI statistics, refractory violations, IG and preferred condition (module docstring).

    Parameters
    ----------
    source : SpikeRecord or neo.Block
    active : "any", "before_decision", "decision" or (start_ms, stop_ms)
        Which spikes make a unit active in a trial (for P(active | class), IG and the preferred condition).
    labels : None, str or array of int
        The classes (:func:`~synsem_ephys.analysis.information.class_labels`: None = the trials' label).
    refractory_ms : float
        An ISI strictly shorter than this is a violation (1.5 ms).
    min_spikes : int or array
        Selected spikes needed to be active.
    min_active_trials, correction, n_shuffles, seed
        Of the IG (:func:`~synsem_ephys.analysis.information.information_gain`).
    information : InformationGain, optional
        An IG already computed on this record under the same definitions (reused, not recomputed).

    Returns
    -------
    UnitStats
    """
    record = as_record(source, "source")
    refractory_ms = _positive(refractory_ms, "refractory_ms")
    n = record.n_units
    durations = trial_durations_ms(record)
    total = float(durations.sum())
    n_spikes = np.bincount(record.unit_index, minlength=n).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = n_spikes * 1000.0 / total if total > 0 else np.full(n, np.nan)
    n_isi, cv, viol = _isi_stats(record, refractory_ms)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(n_isi > 0, viol / n_isi, np.nan)
    act = activity_matrix(record, active, min_spikes=min_spikes)
    lab, names = class_labels(record, labels)
    classes = np.unique(lab[lab >= 0])
    per_class = np.stack([act[lab == c].mean(axis=0) for c in classes], axis=1) if classes.size else np.zeros((n, 0))
    n_active = act[lab >= 0].sum(axis=0).astype(np.int64)
    never = n_active == 0
    preferred = np.where(never, -1, np.argmax(per_class, axis=1) if classes.size else -1).astype(np.int64)
    class_names = tuple(names[int(c)] if int(c) < len(names) else str(int(c)) for c in classes)
    pref_name = np.array([class_names[k] if k >= 0 else "" for k in preferred.tolist()], dtype=str)
    desc = describe_definition(active)
    if np.ndim(min_spikes) or int(min_spikes) > 1:
        desc += " (>= min_spikes selected spikes)"
    ig = p = np.full(n, np.nan)
    used_corr, used_shuffles = correction, int(n_shuffles) if correction == "shuffle" else 0
    if information is not None:
        if not isinstance(information, InformationGain):
            raise input_error("information", "an InformationGain (or None)", type(information).__name__)
        if information.ig.size != n or information.definition != desc or information.correction != correction:
            raise input_error("information", f"an IG of this record's {n} units with active = {desc!r}, "
                              f"correction {correction!r}", f"{information.ig.size} units, {information.definition!r}, "
                              f"{information.correction!r}", "Pass information=None to compute it here.")
        ig, p, used_shuffles = information.ig, information.p_value, information.n_shuffles
    elif classes.size >= 2:
        res = information_gain(record, active=active, labels=labels, min_spikes=min_spikes,
                               min_active_trials=min_active_trials, correction=correction, n_shuffles=n_shuffles,
                               seed=seed)
        ig, p, used_shuffles = res.ig, res.p_value, res.n_shuffles
    u = record.units
    return UnitStats(np.asarray(u.name), np.asarray(u.population), np.asarray(u.cell_type), n_spikes, rate, n_isi, cv,
                     viol, frac, n_active, per_class, preferred, pref_name, np.asarray(ig, float), np.asarray(p, float),
                     class_names, total, refractory_ms, desc, used_corr, int(used_shuffles), int(min_active_trials))


# ------------------------------------------------------------------------------------------ PSTH
def auto_bin_ms(duration_ms, n_bins=150):
    """The smallest 1-2-5 x 10^k ms bin giving at most ``n_bins`` bins over ``duration_ms``."""
    target = max(float(duration_ms) / n_bins, 1e-3)
    e = math.floor(math.log10(target))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * 10.0 ** e >= target * (1 - 1e-12):
            return float(m * 10.0 ** e)
    return float(10.0 ** (e + 1))  # pragma: no cover


@dataclass(frozen=True, eq=False)
class Psth:
    """Firing rate per condition, unit and bin (see the module docstring).

    Attributes
    ----------
    edges_ms : ndarray, shape (n_bins + 1,)
        Bin edges in trial time (aligned to the trial start); the last bin may be shorter.
    rate_hz : ndarray, shape (n_classes, n_units, n_bins)
        NaN where no trial of the class covers the bin.
    n_trials : ndarray of int64, shape (n_classes, n_bins)
        Trials of each class covering each bin.
    class_names : tuple of str
        ``("all trials",)`` for a record without labelled trials.
    unit_names : ndarray of str
    bin_ms : float
    definition : str
        Which spikes count and the alignment.
    """

    edges_ms: np.ndarray
    rate_hz: np.ndarray
    n_trials: np.ndarray
    class_names: tuple
    unit_names: np.ndarray
    bin_ms: float
    definition: str


def psth(source, *, labels, bin_ms="auto", window_ms=None):
    """PSTH per condition, aligned to the trial start (see the module docstring).

    Parameters
    ----------
    source : SpikeRecord or neo.Block
    labels : None, str or array of int
        The conditions (:func:`~synsem_ephys.analysis.information.class_labels`); unlabelled trials are
        left out, unless no trial is labelled: then one condition "all trials".
    bin_ms : float or "auto"
        Bin width; "auto" = :func:`auto_bin_ms` of the window (at most 150 bins).
    window_ms : (start_ms, stop_ms), optional
        The part of the trial shown (default the whole trial, ``(0, trial_duration_ms)``).

    Returns
    -------
    Psth
    """
    record = as_record(source, "source")
    lo, hi = (0.0, record.trial_duration_ms) if window_ms is None else (float(v) for v in window_ms)
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise input_error("window_ms", "(start_ms, stop_ms) with stop_ms > start_ms", repr(window_ms))
    width = auto_bin_ms(hi - lo) if isinstance(bin_ms, str) and bin_ms == "auto" else _positive(bin_ms, "bin_ms")
    n_bins = max(1, int(math.ceil((hi - lo) / width - 1e-9)))
    edges = np.minimum(lo + width * np.arange(n_bins + 1), hi)
    lab, names = class_labels(record, labels)
    classes = np.unique(lab[lab >= 0])
    if classes.size:
        groups = [lab == c for c in classes]
        class_names = tuple(names[int(c)] if int(c) < len(names) else str(int(c)) for c in classes)
    else:
        groups, class_names = [np.ones(record.n_trials, bool)], ("all trials",)
    dur = trial_durations_ms(record)
    covers = dur[:, None] >= edges[None, 1:] - 1e-9 * max(abs(hi), 1.0)  # (n_trials, n_bins)
    b = np.searchsorted(edges, record.times_ms, side="right") - 1
    ok = (record.times_ms >= lo) & (record.times_ms < hi) & (b >= 0) & (b < n_bins)
    ok &= covers[record.trial_index, np.clip(b, 0, n_bins - 1)]
    n_units = record.n_units
    rate = np.full((len(groups), n_units, n_bins), np.nan)
    n_tr = np.zeros((len(groups), n_bins), np.int64)
    widths_s = np.diff(edges) / 1000.0
    for g, member in enumerate(groups):
        sel = ok & member[record.trial_index]
        counts = np.bincount(record.unit_index[sel] * n_bins + b[sel], minlength=n_units * n_bins).reshape(n_units, n_bins)
        n_tr[g] = covers[member].sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate[g] = np.where(n_tr[g] > 0, counts / (n_tr[g] * widths_s), np.nan)
    return Psth(edges, rate, n_tr, class_names, np.asarray(record.units.name), float(width),
                "every spike, aligned to the trial start; rate = spikes / (covering trials x bin width)")
