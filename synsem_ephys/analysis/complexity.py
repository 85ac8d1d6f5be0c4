r"""Cross-checks of the dispersion measures with Elephant's complexity (``elephant.statistics.Complexity``).

For a group (layer) in one trial, Elephant bins the group's spike trains (``bin_ms``, spread 0;
bin ``floor(t / bin_ms)`` from trial time 0, except that Elephant moves a spike within 1e-8 of the next
bin edge into the next bin, a rule the numpy count follows too) and counts the units firing in each bin. We keep::

    peak complexity        max_b  #{units with a spike in bin b}      (Elephant's time histogram)
    spike complexity       mean over the group's spikes of the complexity of the bin holding it

and the same peak computed independently with numpy (agreement is part of the check). A sharp pulse
packet gives a large peak complexity relative to the number of spikes; a dispersed volley a small one.

Why not ``Synchrotool.annotate_synchrofacts`` for the per-spike complexity: Synchrotool's epochs are
centred on the sampling grid (``t_k +- 1 / (2 sampling_rate)``), built for spikes recorded at sample
times. Exact-time spikes are off that grid, and with ``sampling_rate = 1 / bin`` about a third of
them (measured: 351 of 960 random spikes, Elephant 1.2.1) get the complexity of the neighbouring bin,
and a spike in the last half bin raises IndexError. The per-spike value is therefore read from
Elephant's time histogram at the spike's bin.

Cost: Elephant gets one SpikeTrain per unit that fires in the trial (a silent unit adds nothing to its
histogram), built from the record's arrays, with ``quantities``' unit lookups cached
(:func:`synsem_ephys.units.quantities_lookups_cached`); the numpy counts use the arrays directly. The demo's
check (6 layers x 5 trials of 2,394 units) went from ~6.6 s to ~1.5 s with identical results.

Elephant is imported on the first call only (``import elephant`` takes ~3 s). Elephant drops spikes at
exactly ``t_stop``; record spikes lie in ``[0, trial_duration_ms)``. Elephant logs a warning for
every rounding correction; its logger is quietened while this module calls it and restored afterwards.
"""

import logging
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import input_error
from ..units import quantities_lookups_cached
from ._common import as_record, unit_groups

__all__ = ["ComplexityCheck", "complexity_by_group"]

_TOL = 1e-8  # Elephant's default binning tolerance (time_histogram offers no way to change it)


@dataclass(frozen=True, eq=False)
class ComplexityCheck:
    """Elephant complexity per group and trial; arrays of shape (n_groups, n_trials_checked).

    Attributes
    ----------
    group_names : tuple of str
    trials : ndarray of int64
        Record trials that were checked.
    n_spikes, peak_complexity, peak_complexity_numpy : ndarray of int64
    mean_spike_complexity : ndarray of float64
        NaN for a group without spikes in the trial.
    bin_ms : float
    """

    group_names: tuple
    trials: np.ndarray
    n_spikes: np.ndarray
    peak_complexity: np.ndarray
    peak_complexity_numpy: np.ndarray
    mean_spike_complexity: np.ndarray
    bin_ms: float

    @property
    def agrees(self):
        """Whether Elephant's peak complexity equals the numpy one everywhere."""
        return bool(np.array_equal(self.peak_complexity, self.peak_complexity_numpy))


def complexity_by_group(source, *, bin_ms=1.0, trials=None, max_trials=10, group_by="auto"):
    """Elephant's complexity of the binned activity of each group, per trial.

    Parameters
    ----------
    source : SpikeRecord or neo.Block
    bin_ms : float
        Bin width (ms).
    trials : sequence of int, optional
        Trials to check (default: the first ``max_trials``).
    max_trials : int
        Elephant builds objects per (trial, group): keep this small (~0.01 s per group and trial of a few
        hundred firing units).
    group_by : {"auto", "layer", "population"}

    Returns
    -------
    ComplexityCheck
    """
    import quantities as pq
    from elephant.statistics import Complexity

    record = as_record(source, "source")
    if not float(bin_ms) > 0:
        raise input_error("bin_ms", "a float > 0", bin_ms)
    if trials is None:
        trials = np.arange(min(int(max_trials), record.n_trials))
    trials = np.asarray(trials, np.int64)
    groups = unit_groups(record, group_by)
    shape = (groups.n_groups, trials.size)
    n_sp = np.zeros(shape, np.int64)
    peak = np.zeros(shape, np.int64)
    peak_np = np.zeros(shape, np.int64)
    spike_cx = np.full(shape, np.nan)
    n_bins = int(np.ceil(record.trial_duration_ms / float(bin_ms)))
    import elephant.utils

    logger = elephant.utils.logger
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with quantities_lookups_cached():
            _fill(record, groups, trials, float(bin_ms), n_bins, n_sp, peak, peak_np, spike_cx, Complexity, pq)
    finally:
        logger.setLevel(level)
    return ComplexityCheck(groups.names, trials, n_sp, peak, peak_np, spike_cx, float(bin_ms))


def _bins(times_ms, bin_ms):
    """Bin index with Elephant's rule: floor(t / bin), moved up when within _TOL of the next edge."""
    x = np.asarray(times_ms, float) / float(bin_ms)
    return np.floor(x).astype(np.int64) + (np.mod(x, 1.0) >= 1.0 - _TOL)


def _fill(record, groups, trials, bin_ms, n_bins, n_sp, peak, peak_np, spike_cx, Complexity, pq):
    """Counts from the record's arrays; Elephant gets one SpikeTrain per unit that fires in the trial.

    A silent unit adds an empty row to Elephant's binned matrix and nothing to its time histogram, so
    leaving the silent units out gives Elephant's histogram of the whole group (tested against every
    unit's SpikeTrain from :class:`~synsem_ephys.io.TrialView`) at a fraction of its per-object cost.
    """
    import neo

    t_start, t_stop = pq.Quantity(0.0, pq.ms), pq.Quantity(float(record.trial_duration_ms), pq.ms)
    pos = np.full(record.n_trials, -1, np.int64)
    pos[trials] = np.arange(trials.size)
    keep = pos[record.trial_index] >= 0
    t_all, u_all, r_all = record.times_ms[keep], record.unit_index[keep], pos[record.trial_index[keep]]
    g_all = groups.of_unit[u_all]
    order = np.lexsort((t_all, u_all, r_all, g_all))  # by group, trial, unit, time (TrialView's order)
    t_all, u_all, r_all, g_all = t_all[order], u_all[order], r_all[order], g_all[order]
    cell = g_all * trials.size + r_all
    bounds = np.searchsorted(cell, np.arange(groups.n_groups * trials.size + 1))
    for g in range(groups.n_groups):
        for i in range(trials.size):
            a, b = bounds[g * trials.size + i], bounds[g * trials.size + i + 1]
            n_sp[g, i] = b - a
            if b == a:
                continue
            t, u = t_all[a:b], u_all[a:b]
            # independent count: units with >= 1 spike per bin (binary), with numpy
            bins = np.clip(_bins(t, bin_ms), 0, n_bins - 1)
            occ = np.bincount(np.unique(u * n_bins + bins) % n_bins, minlength=n_bins)
            peak_np[g, i] = int(occ.max())
            ub = np.flatnonzero(np.r_[True, u[1:] != u[:-1], True])
            sts = [neo.SpikeTrain(t[ub[k]:ub[k + 1]], units=pq.ms, t_start=t_start, t_stop=t_stop, copy=None)
                   for k in range(ub.size - 1)]
            with warnings.catch_warnings():  # local: we use the histogram, not the epoch it warns about
                warnings.filterwarnings("ignore", message="No sampling rate specified", category=UserWarning)
                tool = Complexity(sts, bin_size=float(bin_ms) * pq.ms, binary=True, spread=0, tolerance=_TOL)
            hist = np.asarray(tool.time_histogram.magnitude).ravel()
            peak[g, i] = int(hist.max())
            spike_cx[g, i] = float(hist[np.clip(_bins(t, bin_ms), 0, hist.size - 1)].mean())
