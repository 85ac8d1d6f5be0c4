r"""Spikes against a continuous signal of the record: spike-triggered average, tuning curves, information.

The signal is one of ``record.signals`` (:class:`~synsem_ephys.record.Signal`): samples of each trial at
trial-relative times ``s_{r,1} < s_{r,2} < ...``. Only time inside trials counts, and every spike is compared
with the samples of its own trial.

Sample-and-hold (:data:`SIGNAL_DEFINITIONS`, used by the tuning curves and the information)::

    sample k holds from s_k to h_k = s_{k+1} (the next sample of its trial); the last sample of a trial holds
    one sampling period (regular) or the median interval of the signal (irregular), cut at the trial's end
    occupancy(b) = sum over samples k with value in bin b of (h_k - s_k)         (seconds; NaN values: none)
    a spike at t takes the value of the sample k with s_k <= t < h_k (none before a trial's first sample)

Tuning curve of unit u over bins b of one channel (:func:`tuning_curves`)::

    rate_u(b) = n_u(b) / occupancy(b)        Hz; NaN where occupancy(b) = 0
    peak rate = max_b rate_u(b), preferred bin = argmax_b (ties to the lowest bin; -1 without spikes)

Information about the binned signal (Skaggs, McNaughton, Gothard & Markus 1993), :func:`signal_information`::

    p_b = occupancy(b) / sum occupancy,  lambda = sum_b p_b rate_u(b)
    I_sec   = sum_b p_b rate_u(b) log2(rate_u(b) / lambda)        bits/s   (0 log 0 = 0)
    I_spike = I_sec / lambda                                       bits/spike (NaN without spikes)

Which spikes count (``active``): every spike, or the spikes of a trial-relative window ``(start_ms, stop_ms)``,
whose occupancy then comes from the same window of every trial (the record is cut with
:meth:`~synsem_ephys.record.SpikeRecord.window`).

Null: ``n_shuffles`` circular shifts of each unit's spikes against the signal: one offset ``d ~ U[m, D - m]``
per unit and shuffle (``m = min_shift_ms``, ``D`` the shortest trial), every spike moved to
``(t + d) mod D_r`` inside its trial; ``p = (k + 1) / (n + 1)`` with ``k`` the shuffles whose ``I_spike``
reaches the observed one (Phipson & Smyth 2010: never 0).

Spike-triggered average (:func:`spike_triggered_average`): ``elephant.sta.spike_triggered_average`` on
each trial's ``AnalogSignal`` and the unit's spikes of that trial (the per-trial view,
:meth:`synsem_ephys.io.TrialView.signal`), averaged over trials weighted by the spikes Elephant used::

    STA_u(lag) = sum_r n_{u,r} STA_{u,r}(lag) / sum_r n_{u,r}

with Elephant's rule: a spike counts when the whole window ``[t - pre, t + post]`` lies inside the trial's
samples, the window starting at sample ``floor((t - pre - t0) * rate)`` and ``ceil((pre + post) * rate)``
samples long (lags ``-pre + j / rate``).
"""

from dataclasses import dataclass

import numpy as np

from ..errors import input_error
from ._common import as_record, describe_definition, spike_mask

__all__ = ["SIGNAL_DEFINITIONS", "TuningCurves", "tuning_curves", "SignalInformation", "signal_information",
           "skaggs_information", "SpikeTriggeredAverage", "spike_triggered_average"]

#: The named definitions of the analyses of this module (shown in reports and JSON).
SIGNAL_DEFINITIONS = {
    "occupancy": "each sample holds until the next sample of its trial (the last one period, or the median "
                 "interval of an irregular signal, cut at the trial's end); occupancy = time held per bin",
    "spike_value": "a spike takes the value of the sample holding at its time (no value before a trial's first "
                   "sample or where the value is NaN)",
    "rate": "spikes in the bin / occupancy of the bin (Hz); NaN where the occupancy is zero",
    "information": "Skaggs information: bits/s = sum p_b r_b log2(r_b / r), bits/spike = bits/s / r",
    "null": "circular shifts of each unit's spikes inside its trials, one offset per unit and shuffle",
    "p_value": "(k + 1) / (n + 1), k = shuffles whose bits/spike reach the observed",
}


def _signal(record, name):
    if not isinstance(name, str) or name not in record.signals:
        raise input_error("signal", f"the name of a signal of the record, among {sorted(record.signals)}", repr(name),
                          "Read the file with signals='all' (NWB) or name the series." if not record.signals else None)
    return record.signals[name]


def _channel(sig, channel, argument="channel"):
    v = sig.values
    if v.ndim == 1:
        if channel not in (0, None) and channel not in sig.channel_names:
            raise input_error(argument, "0 (the signal has one channel)", repr(channel))
        return np.asarray(v, float), 0
    if isinstance(channel, str):
        if channel not in sig.channel_names:
            raise input_error(argument, f"a channel index or name among {list(sig.channel_names)}", repr(channel))
        channel = sig.channel_names.index(channel)
    if not isinstance(channel, (int, np.integer)) or not 0 <= int(channel) < v.shape[1]:
        raise input_error(argument, f"a channel index in [0, {v.shape[1]})", repr(channel))
    return np.asarray(v[:, int(channel)], float), int(channel)


def _hold(record, sig):
    """End of the holding interval of every sample (trial-relative ms)."""
    from .units import trial_durations_ms

    t, r = sig.times_ms, sig.trial_index
    if not t.size:
        return t.copy()
    same = r[1:] == r[:-1]
    if sig.period_ms is not None:
        last = sig.period_ms
    else:
        gaps = (t[1:] - t[:-1])[same]
        last = float(np.median(gaps)) if gaps.size else 0.0
    end = np.minimum(t + last, trial_durations_ms(record)[r])
    end[:-1] = np.where(same, t[1:], end[:-1])
    return end


def _keys(record, trial, times):
    """Session-like sort keys ``offset_r + t`` (monotonic in (trial, time); within one ulp of the offset)."""
    from .units import trial_durations_ms

    offsets = np.concatenate([[0.0], np.cumsum(trial_durations_ms(record) + 1.0)])
    return offsets[trial] + times


def _bins(values, bins, value_range):
    if np.ndim(bins) == 0:
        n = int(bins)
        if n < 1 or n != bins:
            raise input_error("bins", "a number of bins >= 1 or an array of increasing edges", repr(bins))
        ok = values[np.isfinite(values)]
        lo, hi = (float(ok.min()), float(ok.max())) if value_range is None and ok.size else (
            (0.0, 1.0) if value_range is None else (float(value_range[0]), float(value_range[1])))
        if hi <= lo:
            hi = lo + 1.0
        return np.linspace(lo, hi, n + 1)
    edges = np.asarray(bins, float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0) or not np.all(np.isfinite(edges)):
        raise input_error("bins", "at least two finite, increasing bin edges", repr(bins))
    return edges


def _which_bin(values, edges):
    """Bin of each value (the last bin includes its right edge, like numpy.histogram); -1 outside or NaN."""
    b = np.searchsorted(edges, values, side="right") - 1
    b = np.where(values == edges[-1], edges.size - 2, b)
    return np.where(np.isfinite(values) & (b >= 0) & (b < edges.size - 1), b, -1)


class _Binned:
    """What the tuning curves and the information share: sample bins, occupancy, and spike -> bin lookup."""

    def __init__(self, record, sig, values, edges):
        self.record, self.edges = record, edges
        self.n_bins = edges.size - 1
        self.sample_bin = _which_bin(values, edges)
        hold = _hold(record, sig)
        held = (hold - sig.times_ms) / 1000.0
        ok = self.sample_bin >= 0
        self.occupancy_s = np.bincount(self.sample_bin[ok], weights=held[ok], minlength=self.n_bins)
        self.start_key = _keys(record, sig.trial_index, sig.times_ms)
        self.hold_key = _keys(record, sig.trial_index, hold)
        self.sample_trial = sig.trial_index

    def spike_bins(self, trial, times):
        """Bin of each spike (-1: no sample holds at its time, or the held value is outside the bins)."""
        key = _keys(self.record, trial, times)
        k = np.searchsorted(self.start_key, key, side="right") - 1
        kk = np.clip(k, 0, max(self.start_key.size - 1, 0))
        if not self.start_key.size:
            return np.full(times.size, -1)
        ok = (k >= 0) & (self.sample_trial[kk] == trial) & (key < self.hold_key[kk])
        return np.where(ok, self.sample_bin[kk], -1)

    def counts(self, units, bins, n_units):
        ok = bins >= 0
        return np.bincount(units[ok] * self.n_bins + bins[ok], minlength=n_units * self.n_bins).reshape(
            n_units, self.n_bins)


@dataclass(frozen=True, eq=False)
class TuningCurves:
    """Rate of every unit per bin of a signal's value (see the module docstring).

    Attributes
    ----------
    edges : ndarray, shape (n_bins + 1,)
        Bin edges in the signal's unit; ``centres`` their midpoints.
    rate_hz : ndarray, shape (n_units, n_bins)
        NaN where the occupancy is zero.
    counts : ndarray of int64, shape (n_units, n_bins)
    occupancy_s : ndarray, shape (n_bins,)
    peak_rate_hz : ndarray, shape (n_units,)
        NaN without occupancy.
    preferred_bin : ndarray of int64
        -1 for a unit without counted spikes.
    preferred_value : ndarray
        Centre of the preferred bin (NaN for -1).
    n_spikes_counted, n_spikes_without_value : ndarray of int64
        Selected spikes with a value in the bins, and those without (before the first sample, NaN, outside).
    unit_names : ndarray of str
    signal, unit : str
        The signal's name and its physical unit.
    channel : int
    definition : str
        Which spikes count (``active``).
    definitions : dict
        :data:`SIGNAL_DEFINITIONS` used.
    """

    edges: np.ndarray
    centres: np.ndarray
    rate_hz: np.ndarray
    counts: np.ndarray
    occupancy_s: np.ndarray
    peak_rate_hz: np.ndarray
    preferred_bin: np.ndarray
    preferred_value: np.ndarray
    n_spikes_counted: np.ndarray
    n_spikes_without_value: np.ndarray
    unit_names: np.ndarray
    signal: str
    unit: str
    channel: int
    definition: str
    definitions: dict


def _rates(counts, occupancy):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(occupancy[None, :] > 0, counts / occupancy[None, :], np.nan)


def _restricted(record, active):
    """Spikes and occupancy from the same time: a window ``(start_ms, stop_ms)`` cuts the record (both), "any"
    keeps it; the decision selections would count spikes before a decision against time after it: refused."""
    if isinstance(active, str):
        if active != "any":
            raise input_error("active", "'any' or a window (start_ms, stop_ms) (spikes and occupancy from the same "
                              "time)", repr(active))
        return record, "any", describe_definition("any") + "; occupancy over the whole trial"
    spike_mask(record, active, "active")  # the same checks and messages as everywhere
    start, stop = (float(v) for v in active)
    a, b = max(start, 0.0), min(stop, record.trial_duration_ms)
    if not a < b:
        raise input_error("active", f"a window overlapping the trial [0, {record.trial_duration_ms:g}) ms", repr(active))
    return record.window(a, b), "any", describe_definition((start, stop)) + "; occupancy in the same window"


def tuning_curves(source, signal, *, bins=20, value_range=None, channel=0, active="any"):
    """Occupancy-normalised rate of every unit per bin of a signal's value (see the module docstring).

    Parameters
    ----------
    source : SpikeRecord or neo.Block
    signal : str
        Name of a signal of the record (``record.signals``).
    bins : int or array of float
        Number of equal bins over ``value_range``, or the bin edges (the last bin includes its right edge).
    value_range : (float, float), optional
        Default: the signal's smallest and largest finite value.
    channel : int or str
        Channel of a 2-D signal (index or channel name).
    active : "any" or (start_ms, stop_ms)
        Which spikes count: every spike, or those of a trial-relative window, whose occupancy then is the
        same window of every trial (the decision selections are refused: their spikes and time would differ).

    Returns
    -------
    TuningCurves
    """
    record, active, definition = _restricted(as_record(source, "source"), active)
    sig = _signal(record, signal)
    values, ch = _channel(sig, channel)
    edges = _bins(values, bins, value_range)
    binned = _Binned(record, sig, values, edges)
    mask = spike_mask(record, active, "active")
    b = binned.spike_bins(record.trial_index[mask], record.times_ms[mask])
    units = record.unit_index[mask]
    counts = binned.counts(units, b, record.n_units)
    rate = _rates(counts, binned.occupancy_s)
    has = np.any(np.isfinite(rate), axis=1)
    peak = np.where(has, np.nanmax(np.where(np.isfinite(rate), rate, -np.inf), axis=1), np.nan) if rate.size else \
        np.full(record.n_units, np.nan)
    pref = np.where(counts.sum(axis=1) > 0, np.argmax(np.where(np.isfinite(rate), rate, -np.inf), axis=1), -1) \
        if rate.size else np.full(record.n_units, -1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    pref_value = np.where(pref >= 0, centres[np.clip(pref, 0, None)], np.nan)
    n_all = np.bincount(units, minlength=record.n_units)
    return TuningCurves(edges, centres, rate, counts.astype(np.int64), binned.occupancy_s, peak, pref.astype(np.int64),
                        pref_value, counts.sum(axis=1).astype(np.int64), (n_all - counts.sum(axis=1)).astype(np.int64),
                        np.asarray(record.units.name), signal, sig.unit, ch, definition,
                        {k: SIGNAL_DEFINITIONS[k] for k in ("occupancy", "spike_value", "rate")})


def skaggs_information(counts, occupancy_s):
    """Skaggs information ``(bits_per_spike, bits_per_s)`` from spike counts (..., n_bins) and occupancy (n_bins,)."""
    occ = np.asarray(occupancy_s, float)
    counts = np.asarray(counts, float)
    total = occ.sum()
    p = occ / total if total > 0 else np.zeros_like(occ)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(occ > 0, counts / occ, 0.0)
        mean = (p * rate).sum(axis=-1, keepdims=True)
        term = np.where(rate > 0, p * rate * np.log2(rate / mean), 0.0)
        bits_s = term.sum(axis=-1)
        bits_spike = np.where(mean[..., 0] > 0, bits_s / mean[..., 0], np.nan)
    return bits_spike, np.where(mean[..., 0] > 0, bits_s, np.nan)


@dataclass(frozen=True, eq=False)
class SignalInformation:
    """Skaggs information of every unit about a binned signal, with its shuffle p-value (module docstring).

    Attributes
    ----------
    bits_per_spike, bits_per_s : ndarray, shape (n_units,)
        NaN for a unit without counted spikes.
    p_value : ndarray
        ``(k + 1) / (n_shuffles + 1)``; NaN without spikes or without shuffles.
    null_mean_bits_per_spike : ndarray
        Mean over the shuffles.
    tuning : TuningCurves
        The curves the information is computed from (same bins, same spikes).
    n_shuffles : int
    min_shift_ms : float
    seed : int
    definitions : dict
    """

    bits_per_spike: np.ndarray
    bits_per_s: np.ndarray
    p_value: np.ndarray
    null_mean_bits_per_spike: np.ndarray
    tuning: TuningCurves
    n_shuffles: int
    min_shift_ms: float
    seed: int
    definitions: dict


def signal_information(source, signal, *, bins=20, value_range=None, channel=0, active="any", n_shuffles=200,
                       min_shift_ms=None, seed=0):
    """Skaggs information of every unit about a binned signal and its circular-shift null (module docstring).

    Parameters
    ----------
    source, signal, bins, value_range, channel, active
        As :func:`tuning_curves`.
    n_shuffles : int
        Circular shifts of the null (0: no p-value).
    min_shift_ms : float, optional
        Smallest shift; default a tenth of the shortest trial (``d ~ U[m, D - m]``).
    seed : int

    Returns
    -------
    SignalInformation
    """
    from .units import trial_durations_ms

    record = as_record(source, "source")
    tc = tuning_curves(record, signal, bins=bins, value_range=value_range, channel=channel, active=active)
    record, active, _ = _restricted(record, active)
    bits_spike, bits_s = skaggs_information(tc.counts, tc.occupancy_s)
    n_shuffles = int(n_shuffles)
    if n_shuffles < 0:
        raise input_error("n_shuffles", "an int >= 0", n_shuffles)
    dur = trial_durations_ms(record)
    d_min = float(dur.min()) if dur.size else 0.0
    m = 0.1 * d_min if min_shift_ms is None else float(min_shift_ms)
    if not (0 <= m < d_min / 2 or n_shuffles == 0):
        raise input_error("min_shift_ms", f"a shift in [0, {d_min / 2:g}) ms (half the shortest trial)", min_shift_ms)
    p = np.full(record.n_units, np.nan)
    null_mean = np.full(record.n_units, np.nan)
    if n_shuffles:
        sig = record.signals[signal]
        values, _ = _channel(sig, channel)
        binned = _Binned(record, sig, values, tc.edges)
        mask = spike_mask(record, active, "active")
        t, r, u = record.times_ms[mask], record.trial_index[mask], record.unit_index[mask]
        rng = np.random.default_rng(seed)
        exceed = np.zeros(record.n_units)
        total = np.zeros(record.n_units)
        for _ in range(n_shuffles):
            shift = rng.uniform(m, d_min - m, record.n_units)
            ts = np.mod(t + shift[u], dur[r])
            ts = np.minimum(ts, np.nextafter(dur[r], 0))
            null, _ = skaggs_information(binned.counts(u, binned.spike_bins(r, ts), record.n_units), binned.occupancy_s)
            exceed += np.nan_to_num(null, nan=-np.inf) >= bits_spike - 1e-12 * np.abs(bits_spike)
            total += np.nan_to_num(null)
        ok = np.isfinite(bits_spike)
        p = np.where(ok, (exceed + 1.0) / (n_shuffles + 1.0), np.nan)
        null_mean = np.where(ok, total / n_shuffles, np.nan)
    return SignalInformation(bits_spike, bits_s, p, null_mean, tc, n_shuffles, m, int(seed),
                             {k: SIGNAL_DEFINITIONS[k] for k in ("information", "null", "p_value")})


@dataclass(frozen=True, eq=False)
class SpikeTriggeredAverage:
    """Spike-triggered average of a signal per unit (Elephant's, averaged over trials; module docstring).

    Attributes
    ----------
    sta : ndarray, shape (n_units, n_lags, n_channels)
        NaN for a unit without a used spike.
    lags_ms : ndarray, shape (n_lags,)
        Time of each value relative to the spike.
    n_spikes_used, n_spikes_unused : ndarray of int64
        Spikes whose window lies inside their trial's samples, and the others (``unused``: too close to an edge).
    unit_names : ndarray of str
    signal, unit : str
    window_ms : (float, float)
        ``(pre, post)``.
    definition : str
        Which spikes count.
    """

    sta: np.ndarray
    lags_ms: np.ndarray
    n_spikes_used: np.ndarray
    n_spikes_unused: np.ndarray
    unit_names: np.ndarray
    signal: str
    unit: str
    window_ms: tuple
    definition: str


def spike_triggered_average(source, signal, *, window_ms, units=None, active="any"):
    """``elephant.sta.spike_triggered_average`` of a regular signal for every unit, over the trials.

    Parameters
    ----------
    source : SpikeRecord or neo.Block
    signal : str
        A regularly sampled signal of the record (Elephant needs an ``AnalogSignal``).
    window_ms : (float, float)
        ``(pre, post)`` >= 0: the window ``[t - pre, t + post]`` around each spike.
    units : sequence of int, optional
        Unit rows (default all).
    active : "any", ... or (start_ms, stop_ms)
        Which spikes count (:func:`synsem_ephys.analysis.spike_mask`).

    Returns
    -------
    SpikeTriggeredAverage
    """
    import warnings

    import neo
    import quantities as pq
    from elephant.sta import spike_triggered_average as elephant_sta

    from ..io.trials import trial_view
    from ..units import to_quantity_ms

    record = as_record(source, "source")
    sig = _signal(record, signal)
    if sig.sampling_rate_hz is None:
        raise input_error("signal", "a regularly sampled signal (Elephant's STA takes an AnalogSignal)",
                          f"{signal!r}, sampled irregularly")
    try:
        pre, post = (float(v) for v in window_ms)
    except (TypeError, ValueError):
        raise input_error("window_ms", "(pre, post) in ms", repr(window_ms)) from None
    if not (np.isfinite(pre) and np.isfinite(post) and pre >= 0 and post >= 0 and pre + post > 0):
        raise input_error("window_ms", "(pre, post) >= 0 ms with pre + post > 0", repr(window_ms))
    rows = np.arange(record.n_units) if units is None else np.asarray(units, np.int64)
    sub = record.select(units=rows)
    mask = spike_mask(sub, active, "active")
    sub = type(sub)(sub.times_ms[mask], sub.unit_index[mask], sub.trial_index[mask], sub.units, sub.trials,
                    sub.trial_duration_ms, sub.meta, {}, sub.signals)
    view = trial_view(sub)
    n_lags = int(np.ceil((pre + post) * sig.sampling_rate_hz / 1000.0 - 1e-9))
    total = np.zeros((rows.size, n_lags, sig.n_channels))
    used = np.zeros(rows.size, np.int64)
    unused = np.zeros(rows.size, np.int64)
    window = (-pre * pq.ms, post * pq.ms)
    for i in range(len(view)):
        analog = view.signal(i, signal)
        trains = view[i]
        if analog is None:
            unused += np.array([len(st) for st in trains], np.int64)
            continue
        for k, st in enumerate(trains):
            if not len(st):
                continue
            inside = st.magnitude[(st.magnitude >= analog.t_start.rescale("ms").magnitude)
                                  & (st.magnitude <= analog.t_stop.rescale("ms").magnitude)]
            unused[k] += len(st) - inside.size
            if not inside.size:
                continue
            train = neo.SpikeTrain(to_quantity_ms(inside), t_start=analog.t_start, t_stop=analog.t_stop)
            with warnings.catch_warnings():  # Elephant warns when no spike fits the window: counted below
                warnings.simplefilter("ignore")
                res = elephant_sta(analog, [train] * analog.shape[1], window)
            n_used = int(res.annotations["used_spikes"][0])
            unused[k] += int(res.annotations["unused_spikes"][0])
            if n_used:
                total[k] += n_used * np.asarray(res.magnitude)[:n_lags]
                used[k] += n_used
    with np.errstate(invalid="ignore", divide="ignore"):
        sta = np.where(used[:, None, None] > 0, total / np.maximum(used, 1)[:, None, None], np.nan)
    lags = -pre + np.arange(n_lags) * (1000.0 / sig.sampling_rate_hz)
    return SpikeTriggeredAverage(sta, lags, used, unused, np.asarray(record.units.name)[rows], signal, sig.unit,
                                 (pre, post), describe_definition(active))
