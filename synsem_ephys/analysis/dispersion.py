r"""Synchronisation across depth: dispersion of spike times per group (layer) and trial; pulse packets.

For a group ``g`` (a layer, or a population of a recording) and a trial ``r`` let
``t_1 <= ... <= t_n`` be the selected spike times (ms, trial time) of the group's units. Then::

    count       n
    mean        m = (1/n) sum_i t_i
    SD          s = sqrt( sum_i (t_i - m)^2 / (n - 1) )                  (NaN for n < 2)
    quantile    Q(q) = t_(1 + q (n - 1)), linear interpolation between order statistics
                (numpy's default "linear" method); median = Q(0.5), IQR = Q(0.75) - Q(0.25)

computed for two selections: (i) all spikes, (ii) the *packet*: spikes strictly before the trial's
decision time (the first output spike, ``packet="before_decision"``), at or before it
(``packet="decision"``), or spikes in a window ``start_ms <= t < stop_ms``
(:func:`synsem_ephys.analysis.spike_mask`).

Pulse-packet parameters (Diesmann, Gewaltig & Aertsen 1999) of a group::

    a             = mean_r n_{g,r}     (spikes in the packet; a / n_units is the fraction that fired)
    sigma_median  = median_r s_{g,r}   (median over trials with n >= 2 of the per-trial SD, ms)
    sigma_pooled  = SD of all packet spikes of the group, pooled over trials (one sample), ms:
                    sqrt( sum_r [ (n_r - 1) s_r^2 + n_r (m_r - M)^2 ] / (N - ddof) ),  M = sum_r n_r m_r / N

Both spreads take ``ddof`` (default 1, the sample SD; 0 the population SD): the per-trial SDs are
rescaled by ``sqrt((n - 1) / (n - ddof))``. The median of per-trial SDs measures how sharp the packet is
within a trial; the pooled SD adds the trial-to-trial jitter of the packet's position.

"Spreads out, then re-converges" is read off sigma(layer): it rises over early layers and falls again
in deep layers if the network re-synchronises. Everything is vectorised over (group, trial): one
lexsort of the spikes, then ``bincount`` and index arithmetic; nothing loops over trials.
"""

from dataclasses import dataclass

import numpy as np

from ..errors import input_error
from ._common import as_record, describe_definition, spike_mask, unit_groups

__all__ = ["SpikeTimeStats", "Dispersion", "PulsePackets", "SPREADS", "spike_time_stats", "dispersion",
           "pulse_packets", "synthetic_packets"]


@dataclass(frozen=True, eq=False)
class SpikeTimeStats:
    """Statistics of spike times per (group, trial); arrays of shape (n_groups, n_trials).

    Attributes
    ----------
    count : ndarray of int64
    mean_ms, sd_ms, median_ms, q25_ms, q75_ms, iqr_ms : ndarray of float64
        NaN where the count is too small (mean/quantiles: n < 1; SD: n < 2).
    """

    count: np.ndarray
    mean_ms: np.ndarray
    sd_ms: np.ndarray
    median_ms: np.ndarray
    q25_ms: np.ndarray
    q75_ms: np.ndarray

    @property
    def iqr_ms(self):
        return self.q75_ms - self.q25_ms


def spike_time_stats(times_ms, key, n_keys):
    """Count, mean, SD (ddof=1), quartiles of ``times_ms`` per integer ``key`` in ``[0, n_keys)``.

    Parameters
    ----------
    times_ms : array of float, shape (n_spikes,)
    key : array of int, shape (n_spikes,)
    n_keys : int

    Returns
    -------
    tuple of ndarray, each shape (n_keys,)
        ``count, mean, sd, q25, median, q75``.
    """
    t = np.asarray(times_ms, float)
    k = np.asarray(key, np.int64)
    if t.shape != k.shape or t.ndim != 1:
        raise input_error("times_ms, key", "1-D arrays of equal length", f"shapes {t.shape}, {k.shape}")
    if k.size and (k.min() < 0 or k.max() >= n_keys):
        raise input_error("key", f"ints in [0, {n_keys})", f"range [{k.min()}, {k.max()}]")
    order = np.lexsort((t, k))
    t, k = t[order], k[order]
    count = np.bincount(k, minlength=n_keys)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(k, weights=t, minlength=n_keys) / count
        ss = np.bincount(k, weights=(t - mean[k]) ** 2, minlength=n_keys)
        sd = np.where(count >= 2, np.sqrt(ss / np.maximum(count - 1, 1)), np.nan)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    quant = []
    for q in (0.25, 0.5, 0.75):
        pos = q * (count - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.ceil(pos).astype(np.int64)
        ok = count > 0
        a = np.full(n_keys, np.nan)
        b = np.full(n_keys, np.nan)
        a[ok] = t[start[ok] + lo[ok]]
        b[ok] = t[start[ok] + hi[ok]]
        quant.append(a + (pos - lo) * (b - a))
    mean = np.where(count > 0, mean, np.nan)
    return count.astype(np.int64), mean, sd, quant[0], quant[1], quant[2]


def _stats(record, groups, mask):
    g = groups.of_unit[record.unit_index[mask]]
    key = g * record.n_trials + record.trial_index[mask]
    n_keys = groups.n_groups * record.n_trials
    c, m, s, q1, q2, q3 = spike_time_stats(record.times_ms[mask], key, n_keys)
    shape = (groups.n_groups, record.n_trials)
    return SpikeTimeStats(c.reshape(shape), m.reshape(shape), s.reshape(shape), q2.reshape(shape),
                          q1.reshape(shape), q3.reshape(shape))


@dataclass(frozen=True, eq=False)
class Dispersion:
    """Spike-time dispersion per group and trial, for all spikes and for the packet.

    Attributes
    ----------
    group_names : tuple of str
    group_layer : ndarray of int64
    group_size : ndarray of int64
        Units per group.
    all : SpikeTimeStats
        All spikes of the trial.
    packet : SpikeTimeStats or None
        The selected packet (None when ``packet=None``).
    packet_definition : str
        Human-readable definition of the packet.
    packet_kind : str
        ``"decision"``, ``"window"`` or ``"none"``.
    decision_time_ms : ndarray of float64
        Per-trial decision time (+inf = none).
    spikes : str
        Which spikes of a unit in a trial count: ``"all"`` or ``"first"``.
    max_spikes_per_unit_trial : int
        Most spikes one unit fired in one trial among those counted: above 1 (recordings of neurons that fire
        more than once), a packet's ``a`` counts spikes, not units, and ``a_fraction`` may exceed 1.
    """

    group_names: tuple
    group_layer: np.ndarray
    group_size: np.ndarray
    all: SpikeTimeStats
    packet: SpikeTimeStats
    packet_definition: str
    packet_kind: str
    decision_time_ms: np.ndarray
    spikes: str = "all"
    max_spikes_per_unit_trial: int = 1


def _first_spikes(record):
    """Mask of each unit's first spike in each trial (ties: the first in the record's order)."""
    order = np.lexsort((record.times_ms, record.unit_index, record.trial_index))
    key = record.trial_index[order] * max(record.n_units, 1) + record.unit_index[order]
    first = np.ones(order.size, bool)
    first[1:] = key[1:] != key[:-1]
    mask = np.zeros(record.n_spikes, bool)
    mask[order[first]] = True
    return mask


def dispersion(source, *, packet="decision", group_by="auto", spikes="all"):
    """Spike-time dispersion per group (layer or population) and trial.

    Parameters
    ----------
    source : SpikeRecord or neo.Block
    packet : "before_decision", "decision", (start_ms, stop_ms) or None
        Which spikes form the packet: those strictly before / at or before the trial's decision time
        (first output spike; trials without one have an empty packet), those in a window of trial
        time, or none.
    group_by : {"auto", "layer", "population"}
    spikes : {"all", "first"}
        Every spike counts, or only each unit's first spike in each trial (the time-to-first-spike code;
        for recordings of neurons that fire several times, e.g. from other simulators). With ``"all"`` on such
        a recording, the packet's ``a`` counts spikes, not units (``Dispersion.max_spikes_per_unit_trial``).

    Returns
    -------
    Dispersion
    """
    record = as_record(source, "source")
    if spikes not in ("all", "first"):
        raise input_error("spikes", "'all' or 'first' (each unit's first spike in each trial)", repr(spikes))
    groups = unit_groups(record, group_by)
    base = np.ones(record.n_spikes, bool) if spikes == "all" else _first_spikes(record)
    counted = np.bincount(record.trial_index[base] * max(record.n_units, 1) + record.unit_index[base],
                          minlength=record.n_trials * max(record.n_units, 1))
    most = int(counted.max()) if counted.size else 0
    all_stats = _stats(record, groups, base)
    pk, desc, kind = None, "none", "none"
    if packet is not None:
        if isinstance(packet, str) and packet not in ("decision", "before_decision"):
            raise input_error("packet", "'decision', a window (start_ms, stop_ms) or None", repr(packet))
        pk = _stats(record, groups, spike_mask(record, packet, "packet") & base)
        desc = describe_definition(packet)
        kind = "decision" if isinstance(packet, str) else "window"
        if spikes == "first":
            desc += ", each unit's first spike of the trial only"
        elif most > 1:
            desc += f" (units fire up to {most} times in a trial: a counts spikes, not units)"
    return Dispersion(groups.names, groups.layer, groups.sizes().astype(np.int64), all_stats, pk, desc, kind,
                      np.asarray(record.trials.decision_time_ms), spikes, most)


@dataclass(frozen=True, eq=False)
class PulsePackets:
    """Pulse-packet parameters per group (see the module docstring); arrays of shape (n_groups,).

    Attributes
    ----------
    group_names : tuple of str
    a_mean, a_sd : ndarray
        Mean and SD over trials of the number of spikes in the packet.
    a_fraction : ndarray
        ``a_mean / group_size``.
    sigma_median_ms, sigma_q25_ms, sigma_q75_ms : ndarray
        Median and quartiles over trials of the packet's SD (trials with >= 2 spikes).
    iqr_median_ms : ndarray
        Median over trials of the packet's IQR.
    t_median_ms : ndarray
        Median over trials of the packet's median spike time (its position).
    n_trials_used : ndarray of int64
        Trials with >= 2 packet spikes.
    sigma_pooled_ms : ndarray
        SD of all the group's packet spikes pooled over trials (see the module docstring).
    ddof : int
        Delta degrees of freedom of both spreads.
    """

    group_names: tuple
    a_mean: np.ndarray
    a_sd: np.ndarray
    a_fraction: np.ndarray
    sigma_median_ms: np.ndarray
    sigma_q25_ms: np.ndarray
    sigma_q75_ms: np.ndarray
    iqr_median_ms: np.ndarray
    t_median_ms: np.ndarray
    n_trials_used: np.ndarray
    sigma_pooled_ms: np.ndarray = None
    ddof: int = 1

    def sigma_ms(self, spread="median"):
        """The spread per group: ``"median"`` (of per-trial SDs) or ``"pooled"`` (over trials)."""
        if spread not in SPREADS:
            raise input_error("spread", f"one of {SPREADS}", repr(spread))
        return self.sigma_median_ms if spread == "median" else self.sigma_pooled_ms


#: Spreads of a packet offered by :class:`PulsePackets` (see the module docstring).
SPREADS = ("median", "pooled")


def _pooled_sd(count, mean, sd, ddof):
    """SD of the union of the samples of each row (trials along axis 1) from their counts, means and SDs."""
    n = np.where(count > 0, count, 0).astype(float)
    N = n.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.where(count > 0, mean, 0.0)
        M = (n * m).sum(axis=1) / N
        within = np.where(count >= 2, (n - 1) * np.where(np.isfinite(sd), sd, 0.0) ** 2, 0.0).sum(axis=1)
        between = (n * (m - M[:, None]) ** 2).sum(axis=1)
        out = np.sqrt((within + between) / (N - ddof))
    return np.where(N > ddof, out, np.nan)


def _nanq(x, q):
    out = np.full(x.shape[0], np.nan)
    for i, row in enumerate(x):
        row = row[np.isfinite(row)]
        if row.size:
            out[i] = np.quantile(row, q)
    return out


def pulse_packets(disp, which="packet", *, ddof=1):
    """Pulse-packet parameters (a, sigma) per group from a :class:`Dispersion`.

    Parameters
    ----------
    disp : Dispersion
    which : {"packet", "all"}
        Use the packet statistics or those of all spikes.
    ddof : int
        Delta degrees of freedom of the SDs (1: sample SD, as numpy's ``std(ddof=1)``; 0: population SD).
    """
    if not isinstance(disp, Dispersion):
        raise input_error("disp", "a Dispersion (from dispersion())", type(disp).__name__)
    if which not in ("packet", "all"):
        raise input_error("which", "'packet' or 'all'", repr(which))
    st = disp.packet if which == "packet" else disp.all
    if st is None:
        raise input_error("which", "'all' for a Dispersion computed with packet=None", repr(which))
    if isinstance(ddof, bool) or not isinstance(ddof, (int, np.integer)) or not 0 <= ddof <= 1:
        raise input_error("ddof", "0 or 1", repr(ddof))
    count = st.count.astype(float)
    used = st.count >= 2
    if which == "packet":  # trials without a decision have no packet: leave them out of a
        has = np.isfinite(disp.decision_time_ms) if disp.packet_kind == "decision" else np.ones(count.shape[1], bool)
        count = count[:, has]
    a_mean = count.mean(axis=1) if count.shape[1] else np.full(count.shape[0], np.nan)
    a_sd = count.std(axis=1) if count.shape[1] else np.full(count.shape[0], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.sqrt((st.count - 1) / np.maximum(st.count - ddof, 1)) if ddof != 1 else 1.0
        sd = np.where(used, st.sd_ms * scale, np.nan)
        frac = a_mean / disp.group_size
    return PulsePackets(disp.group_names, a_mean, a_sd, frac, _nanq(sd, 0.5), _nanq(sd, 0.25), _nanq(sd, 0.75),
                        _nanq(np.where(used, st.iqr_ms, np.nan), 0.5), _nanq(st.median_ms, 0.5),
                        used.sum(axis=1).astype(np.int64), _pooled_sd(st.count, st.mean_ms, st.sd_ms, ddof),
                        int(ddof))


def synthetic_packets(a, sigma_ms, n_trials, *, t0_ms=20.0, seed=0):
    """Gaussian pulse packets for tests and examples: ``a`` spikes at ``t0_ms + sigma_ms * N(0, 1)``.

    Returns
    -------
    times_ms, trial_index : ndarray
        Flat spike times (clipped at 0) and their trials; every trial holds exactly ``a`` spikes.
    """
    if int(a) < 1 or int(n_trials) < 1:
        raise input_error("a, n_trials", "positive ints", (a, n_trials))
    if not sigma_ms >= 0:
        raise input_error("sigma_ms", "a float >= 0", sigma_ms)
    rng = np.random.default_rng(seed)
    t = np.clip(t0_ms + sigma_ms * rng.standard_normal((int(n_trials), int(a))), 0.0, None)
    r = np.repeat(np.arange(int(n_trials)), int(a))
    return t.ravel(), r
