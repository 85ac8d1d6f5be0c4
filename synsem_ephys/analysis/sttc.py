r"""Spike time tiling coefficient (STTC) of all unit pairs at once, exact and vectorised.

Cutts & Eglen (2014, J. Neurosci. 34:14288), for spike trains A and B and a window :math:`\Delta t`:

.. math::

    \mathrm{STTC} = \tfrac12 \frac{P_A - T_B}{1 - P_A T_B} + \tfrac12 \frac{P_B - T_A}{1 - P_B T_A}

- :math:`T_A`: fraction of the recording time within :math:`\pm\Delta t` of a spike of A (union of the
  intervals :math:`[t - \Delta t, t + \Delta t]`, clipped to the recording window);
- :math:`P_A`: fraction of the spikes of A with a spike of B at distance :math:`|t_A - t_B| \le \Delta t`.

A term whose :math:`P T = 1` is set to 1 (as Elephant does); a pair with an empty train is NaN; the
diagonal is 1 for every unit that spiked.

Differences from ``elephant.spike_train_correlation.spike_time_tiling_coefficient`` (1.2.1):

- Elephant tests coincidence with ``np.isclose(t_A, t_B, atol=dt)``, i.e.
  :math:`|t_A - t_B| \le \Delta t + 10^{-5} |t_B|`: the window grows with absolute time (10 ms at
  :math:`t = 10^6` ms), so on trials laid end to end it over-counts coincidences (elephant PR #706).
  Here the test is exactly :math:`|t_A - t_B| \le \Delta t`; on short trains the two agree.
- Elephant computes one pair per call (~1 ms); here all pairs come from one sweep over the spikes
  sorted by time: for offsets ``k = 1, 2, ...`` compare spike ``i`` with spike ``i + k`` until no pair is
  within :math:`\Delta t` (each spike drops out at its first partner beyond the window), counting each
  (spike, other unit) once via the nearest spike of the other unit.
- With trials (:func:`sttc_matrix_trials`) every trial is its own window: coincidences never cross
  trial boundaries, and :math:`T_A` is the tiled fraction of the summed trial time.
"""

from dataclasses import dataclass

import numpy as np

from ..errors import input_error

__all__ = ["STTCResult", "ConditionSTTC", "sttc_matrix", "sttc_matrix_trials", "sttc_matrix_spiketrains",
           "sttc_by_condition"]


@dataclass(frozen=True)
class STTCResult:
    """All-pairs STTC.

    Attributes
    ----------
    sttc : ndarray, shape (n_units, n_units)
        Symmetric; NaN where a unit has no spike; 1 on the diagonal of units with spikes.
    tiling : ndarray, shape (n_units,)
        :math:`T_A` of each unit.
    coincident : ndarray, shape (n_units, n_units)
        ``coincident[a, b]`` = number of spikes of ``a`` within ``dt_ms`` of a spike of ``b``.
    n_spikes : ndarray, shape (n_units,)
    dt_ms : float
    """

    sttc: np.ndarray
    tiling: np.ndarray
    coincident: np.ndarray
    n_spikes: np.ndarray
    dt_ms: float


def sttc_matrix(times_ms, unit_index, n_units, dt_ms, t_start_ms, t_stop_ms):
    """STTC of all pairs of units of one continuous recording ``[t_start_ms, t_stop_ms]``.

    Parameters
    ----------
    times_ms : array of float
        Spike times (ms), any order.
    unit_index : array of int
        Unit of each spike, in ``[0, n_units)``.
    n_units : int
    dt_ms : float
        Coincidence window (ms), > 0.
    t_start_ms, t_stop_ms : float
        Recording window; every spike must lie inside it.

    Returns
    -------
    STTCResult
    """
    t = np.asarray(times_ms, float)
    seg = np.zeros(t.shape, np.int64)
    return _sttc(t, unit_index, seg, n_units, dt_ms, np.array([float(t_start_ms)]), np.array([float(t_stop_ms)]))


def sttc_matrix_trials(record, dt_ms, units=None, trials=None):
    """STTC of all pairs of (selected) units of a SpikeRecord, each trial its own window.

    Parameters
    ----------
    record : SpikeRecord
    dt_ms : float
    units, trials : array of int, optional
        Unit rows and trial rows to use (default all).

    Returns
    -------
    STTCResult
        Rows/columns in the order of ``units``.
    """
    if units is not None or trials is not None:
        record = record.select(units=units, trials=trials)
    dur = np.asarray(record.trials.columns.get("duration_ms", np.full(record.n_trials, record.trial_duration_ms)), float)
    return _sttc(record.times_ms, record.unit_index, record.trial_index, record.n_units, dt_ms,
                 np.zeros(record.n_trials), dur)


@dataclass(frozen=True, eq=False)
class ConditionSTTC:
    """STTC matrices of the same units, one per condition (the trials of one class label).

    Attributes
    ----------
    sttc : ndarray, shape (n_conditions, n_units, n_units)
        :func:`sttc_matrix_trials` over the trials of each condition (every trial its own window).
    mean_pair : ndarray, shape (n_conditions,)
        Mean over the off-diagonal pairs with a finite STTC (NaN if none).
    n_trials : ndarray of int64, shape (n_conditions,)
    class_names : tuple of str
    unit_rows : ndarray of int64
        Rows of the record's unit table, in the matrices' order.
    unit_names : ndarray of str
    dt_ms : float
    definition : str
        Which spikes count, the windows and the null (none).
    """

    sttc: np.ndarray
    mean_pair: np.ndarray
    n_trials: np.ndarray
    class_names: tuple
    unit_rows: np.ndarray
    unit_names: np.ndarray
    dt_ms: float
    definition: str


def sttc_by_condition(record, dt_ms, *, labels=None, units=None, max_units=None):
    """STTC of all pairs of units per condition: every spike of a trial counts, each trial its own window.

    Parameters
    ----------
    record : SpikeRecord
    dt_ms : float
        Coincidence window (ms), > 0.
    labels : None, str or array of int
        The conditions (:func:`~synsem_ephys.analysis.information.class_labels`: None = the trials' label);
        unlabelled trials (-1) are left out; a record without any labelled trial is one condition, "all trials".
    units : array of int, optional
        Unit rows (default: all, or the ``max_units`` with the most spikes).
    max_units : int, optional
        Keep at most this many units, those with the most spikes in the labelled trials (ties: lower row).

    Returns
    -------
    ConditionSTTC
    """
    from .information import class_labels

    if isinstance(dt_ms, bool) or not isinstance(dt_ms, (int, float, np.floating)) or not np.isfinite(dt_ms) or dt_ms <= 0:
        raise input_error("dt_ms", "a finite number > 0 (ms)", repr(dt_ms))
    lab, names = class_labels(record, labels)
    if not np.any(lab >= 0):  # no labelled trial: all trials are one condition
        lab, names = np.zeros(record.n_trials, np.int64), ("all trials",)
    classes = np.unique(lab[lab >= 0])
    if units is None:
        counts = np.bincount(record.unit_index[lab[record.trial_index] >= 0], minlength=record.n_units)
        rows = np.arange(record.n_units)
        if max_units is not None and record.n_units > int(max_units):
            rows = np.sort(np.argsort(-counts, kind="stable")[: int(max_units)])
    else:
        rows = np.asarray(units, np.int64)
    mats, means, n_tr = [], [], []
    off = ~np.eye(rows.size, dtype=bool)
    for c in classes:
        trials = np.flatnonzero(lab == c)
        m = sttc_matrix_trials(record, float(dt_ms), units=rows, trials=trials).sttc
        vals = m[off]
        vals = vals[np.isfinite(vals)]
        mats.append(m)
        means.append(float(vals.mean()) if vals.size else float("nan"))
        n_tr.append(trials.size)
    k = rows.size
    class_names = tuple(names[int(c)] if int(c) < len(names) else str(int(c)) for c in classes)
    definition = (f"STTC (Cutts & Eglen 2014), window +-{float(dt_ms):g} ms, every spike of the trial counts, each trial "
                  "its own window (no coincidence across trials), trials grouped by condition; no null")
    return ConditionSTTC(np.array(mats).reshape(len(classes), k, k), np.array(means, float), np.array(n_tr, np.int64),
                         class_names, rows, np.asarray(record.units.name)[rows], float(dt_ms), definition)


def sttc_matrix_spiketrains(spiketrains, dt_ms):
    """STTC of all pairs of a list of ``neo.SpikeTrain`` sharing ``t_start`` and ``t_stop``."""
    from ..io.layout import common_window_ms
    from ..units import to_float_ms

    trains = list(spiketrains)
    if not trains:
        raise input_error("spiketrains", "a non-empty list of neo.SpikeTrain", "an empty list")
    t0, t1 = common_window_ms(trains, "spiketrains[{k}]", "spiketrains[0]", "Cut the trains to a common window (time_slice).")
    times = [np.atleast_1d(to_float_ms(st.times)) for st in trains]
    units = np.repeat(np.arange(len(trains)), [x.size for x in times])
    return sttc_matrix(np.concatenate(times), units, len(trains), dt_ms, t0, t1)


def _sttc(times, units, seg, n_units, dt_ms, seg_start, seg_stop):
    times = np.asarray(times, float)
    units = np.asarray(units, np.int64)
    seg = np.asarray(seg, np.int64)
    dt = float(dt_ms)
    if not (np.isfinite(dt) and dt > 0):
        raise input_error("dt_ms", "a finite float > 0", dt_ms)
    if times.shape != units.shape or times.ndim != 1:
        raise input_error("times_ms/unit_index", "1-D arrays of equal length", f"shapes {times.shape}, {units.shape}")
    if times.size:
        if units.min() < 0 or units.max() >= n_units:
            raise input_error("unit_index", f"indices in [0, {n_units})", f"range [{units.min()}, {units.max()}]")
        if np.any(times < seg_start[seg]) or np.any(times > seg_stop[seg]) or not np.all(np.isfinite(times)):
            raise input_error("times_ms", "finite times inside the recording window(s)", "times outside")
    n_spikes = np.bincount(units, minlength=n_units)
    total = float(np.sum(seg_stop - seg_start))
    if not total > 0:
        raise input_error("t_stop_ms", "a recording window of positive length", total)
    tiling = _tiling(times, units, seg, n_units, dt, seg_start, seg_stop) / total
    count = _coincidences(times, units, seg, n_units, dt)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = count / n_spikes[:, None]  # p[a, b]: fraction of a's spikes near b
        h = _half(p, tiling[None, :])
        m = 0.5 * h + 0.5 * h.T
    empty = n_spikes == 0
    m[empty, :] = np.nan
    m[:, empty] = np.nan
    diag = np.arange(n_units)
    m[diag[~empty], diag[~empty]] = 1.0
    return STTCResult(m, tiling, count, n_spikes, dt)


def _half(p, t):
    prod = p * t
    out = (p - t) / (1.0 - prod)
    return np.where(prod == 1.0, 1.0, out)


def _tiling(times, units, seg, n_units, dt, seg_start, seg_stop):
    """Length of the union of [t - dt, t + dt] clipped to each spike's window, summed per unit."""
    order = np.lexsort((times, seg, units))
    t, u, s = times[order], units[order], seg[order]
    lo = np.maximum(t - dt, seg_start[s])
    hi = np.minimum(t + dt, seg_stop[s])
    covered = np.bincount(u, weights=hi - lo, minlength=n_units)
    same = (u[1:] == u[:-1]) & (s[1:] == s[:-1])
    overlap = np.where(same, np.maximum(0.0, hi[:-1] - lo[1:]), 0.0)
    return covered - np.bincount(u[1:], weights=overlap, minlength=n_units)


def _coincidences(times, units, seg, n_units, dt):
    """count[a, b] = number of spikes of a with a spike of b (b != a) within dt in the same window."""
    n = times.size
    count = np.zeros(n_units * n_units, np.int64)
    if n < 2:
        return count.reshape(n_units, n_units)
    order = np.lexsort((times, seg))
    t, u, s = times[order], units[order], seg[order]
    # previous / next spike of the same unit in the same window, in sorted order (-1 / n if none)
    by_unit = np.lexsort((np.arange(n), u))
    link = (u[by_unit][1:] == u[by_unit][:-1]) & (s[by_unit][1:] == s[by_unit][:-1])
    prev_same = np.full(n, -1, np.int64)
    next_same = np.full(n, n, np.int64)
    prev_same[by_unit[1:][link]] = by_unit[:-1][link]
    next_same[by_unit[:-1][link]] = by_unit[1:][link]
    t_next = np.append(t, np.inf)[next_same]
    s_next = np.append(s, -1)[next_same]
    active = np.arange(n - 1)  # spikes i whose partner i + k may still be within dt
    for k in range(1, n):
        active = active[active + k < n]
        j = active + k
        near = (s[j] == s[active]) & (t[j] - t[active] <= dt)
        active = active[near]  # once i + k is too far, so is every later partner of i
        if not active.size:
            break
        i, j = active, j[near]
        other = u[i] != u[j]
        i, j = i[other], j[other]
        # spike i is covered by unit u[j]: count at the first u[j] spike after i
        fwd = prev_same[j] < i
        count += np.bincount(u[i[fwd]] * n_units + u[j[fwd]], minlength=n_units * n_units)
        # spike j is covered by unit u[i]: count at the last u[i] spike before j, unless a later one is near
        last = next_same[i] > j
        later_near = (s_next[i] == s[j]) & (t_next[i] - t[j] <= dt)
        bwd = last & ~later_near
        count += np.bincount(u[j[bwd]] * n_units + u[i[bwd]], minlength=n_units * n_units)
    return count.reshape(n_units, n_units)
