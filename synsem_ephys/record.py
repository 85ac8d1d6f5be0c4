"""SpikeRecord: the flat numpy currency between simulators, real recordings and Neo.

A recording of ``n_trials`` trials of ``n_units`` units is three flat arrays of equal length, one entry
per spike::

    times_ms[k]     time of spike k in ms, relative to the start of its trial, 0 <= t < trial_duration_ms
    unit_index[k]   row of the unit table,  0 <= u < n_units
    trial_index[k]  row of the trial table, 0 <= r < n_trials

plus a :class:`UnitTable` (one row per unit: name, population, layer, cell type, ...) and a
:class:`TrialTable` (one row per trial: class label, prediction, decision time, stimulus metadata).
Conventions: "no spike" is ``+inf`` in dense float arrays, an absent index or label is ``-1``, an
absent time is ``+inf`` (decision time) or ``nan`` (stimulus onset). Trials may be shorter than
``trial_duration_ms``; their own length then lives in the trial column ``duration_ms``.

Reserved trial columns (all optional): ``duration_ms`` (per-trial length), ``stimulus_onset_ms``
(becomes the Neo Event "stimulus_onset"), ``source_start_ms`` (trial start in the source file).

Continuous signals beside the spikes (position, head direction, stimulus waveforms, LFP) are
``record.signals``, a mapping name -> :class:`Signal`, stored the way spikes and events are: the samples of
each trial with trial-relative times (``0 <= t < duration of the trial``) and the trial of each sample, so that
:meth:`SpikeRecord.select`, :meth:`SpikeRecord.window` and the per-trial view cut them with the trials. On the
recording's own clock a sample lies at ``source_start_ms[trial] + t`` (the trial column). A record without
signals is exactly what it was before signals existed (every file it writes is unchanged).

The record is immutable: arrays are stored as read-only views. Nothing here imports torch.
"""

from dataclasses import dataclass, field

import numpy as np

from .errors import input_error
from .decision import decision_time, predict
from .spec import unit_name

__all__ = ["CELL_TYPES", "UnitTable", "TrialTable", "EventTimes", "Signal", "SpikeRecord"]

#: Canonical cell types. "hidden" = a hidden unit without Dale's law; "unknown" = not stated by the source.
CELL_TYPES = ("E", "I", "input", "output", "hidden", "unknown")


def _ro(values, dtype, name, length=None):
    """Return ``values`` as a read-only 1-D array of ``dtype`` (a view when no conversion is needed)."""
    arr = np.asarray(values)
    if dtype is str:
        arr = arr.astype(str) if arr.size else np.zeros(0, dtype="<U1")
    else:
        if arr.size and dtype is np.int64 and arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
                raise input_error(name, "integer values", f"non-integer floats (dtype {arr.dtype})")
        arr = arr.astype(dtype, copy=False)
    if arr.ndim != 1:
        raise input_error(name, "a 1-D array", f"shape {arr.shape}")
    if length is not None and arr.shape[0] != length:
        raise input_error(name, f"length {length}", f"length {arr.shape[0]}")
    view = arr.view()
    view.flags.writeable = False
    return view


def _columns(columns, length, name):
    out = {}
    for key, val in dict(columns or {}).items():
        if not isinstance(key, str) or not key:
            raise input_error(name, "column names that are non-empty str", repr(key))
        arr = np.asarray(val)
        if arr.dtype.kind in "USO":
            out[key] = _ro(arr, str, f"{name}[{key!r}]", length)
        elif arr.dtype.kind in "biuf":
            out[key] = _ro(arr, arr.dtype if arr.dtype.kind != "b" else bool, f"{name}[{key!r}]", length)
        else:
            raise input_error(f"{name}[{key!r}]", "numbers, booleans or strings", f"dtype {arr.dtype}")
    return out


@dataclass(frozen=True, eq=False)
class UnitTable:
    """One row per unit.

    Attributes
    ----------
    name, population, cell_type : ndarray of str
        Unit name (unique), population name, cell type (see :data:`CELL_TYPES`).
    layer : ndarray of int64
        Layer (0 = input); -1 if not applicable (real recordings).
    index_in_population, channel_id : ndarray of int64
        Position inside the population (PyNN's ``source_index``) and recording channel (-1 absent).
    columns : dict of str -> ndarray
        Extra per-unit columns (e.g. ``depth``, ``quality``) of numbers, booleans or strings.
    """

    name: np.ndarray
    population: np.ndarray
    layer: np.ndarray
    cell_type: np.ndarray
    index_in_population: np.ndarray
    channel_id: np.ndarray
    columns: dict = field(default_factory=dict)

    def __post_init__(self):
        n = len(np.asarray(self.name))
        for attr in ("name", "population", "cell_type"):
            object.__setattr__(self, attr, _ro(getattr(self, attr), str, f"units.{attr}", n))
        for attr in ("layer", "index_in_population", "channel_id"):
            object.__setattr__(self, attr, _ro(getattr(self, attr), np.int64, f"units.{attr}", n))
        object.__setattr__(self, "columns", _columns(self.columns, n, "units.columns"))
        if len(set(self.name.tolist())) != n:
            names, counts = np.unique(self.name, return_counts=True)
            raise input_error("units.name", "unique unit names", f"duplicates {names[counts > 1][:5].tolist()}")
        bad = sorted(set(self.cell_type.tolist()) - set(CELL_TYPES))
        if bad:
            raise input_error("units.cell_type", f"values among {CELL_TYPES}", bad, "Use 'unknown' if the source does not say.")

    def __len__(self):
        return self.name.shape[0]

    @classmethod
    def simple(cls, n_units, *, population="unit", names=None, cell_type="unknown", channel_id=None, columns=None):
        """Units of one population without layer (real recordings)."""
        idx = np.arange(n_units)
        names = [f"{population}{i}" for i in idx] if names is None else names
        return cls(name=names, population=np.full(n_units, population), layer=np.full(n_units, -1),
                   cell_type=np.full(n_units, cell_type), index_in_population=idx,
                   channel_id=idx if channel_id is None else channel_id, columns=columns or {})

    @classmethod
    def from_populations(cls, populations):
        """Units of a network, layer by layer, from ``NetworkSpec.populations()`` (name, layer, cell_type, start, stop)."""
        name, pop, layer, ctype, idx = [], [], [], [], []
        for p in populations:
            k = np.arange(p.stop - p.start)
            name += [unit_name(p.name, i) for i in k]
            pop += [p.name] * len(k)
            layer += [p.layer] * len(k)
            ctype += [p.cell_type] * len(k)
            idx.append(k)
        idx = np.concatenate(idx) if idx else np.zeros(0, np.int64)
        return cls(name=name, population=pop, layer=layer, cell_type=ctype, index_in_population=idx,
                   channel_id=np.arange(len(name)))

    def take(self, rows):
        """The sub-table of ``rows`` (int array)."""
        rows = np.asarray(rows, dtype=np.int64)
        return UnitTable(self.name[rows], self.population[rows], self.layer[rows], self.cell_type[rows],
                         self.index_in_population[rows], self.channel_id[rows],
                         {k: v[rows] for k, v in self.columns.items()})


@dataclass(frozen=True, eq=False)
class TrialTable:
    """One row per trial.

    Attributes
    ----------
    label, prediction : ndarray of int64
        Class label and the network's prediction; -1 when absent.
    decision_time_ms : ndarray of float64
        Time of the decision (earliest output spike) in ms from trial start; +inf when absent.
    columns : dict of str -> ndarray
        Extra per-trial columns (stimulus metadata); see the module docstring for reserved names.
    label_names : tuple of str
        ``label_names[k]`` names class ``k`` (may be empty).
    """

    label: np.ndarray
    prediction: np.ndarray = None
    decision_time_ms: np.ndarray = None
    columns: dict = field(default_factory=dict)
    label_names: tuple = ()

    def __post_init__(self):
        n = len(np.asarray(self.label))
        pred = np.full(n, -1) if self.prediction is None else self.prediction
        dec = np.full(n, np.inf) if self.decision_time_ms is None else self.decision_time_ms
        object.__setattr__(self, "label", _ro(self.label, np.int64, "trials.label", n))
        object.__setattr__(self, "prediction", _ro(pred, np.int64, "prediction", n))
        object.__setattr__(self, "decision_time_ms", _ro(dec, np.float64, "decision_time_ms", n))
        object.__setattr__(self, "columns", _columns(self.columns, n, "trials.columns"))
        object.__setattr__(self, "label_names", tuple(str(s) for s in self.label_names))
        if np.any(self.label < -1):
            raise input_error("labels", "ints >= -1 (-1 = absent)", f"min {self.label.min()}")
        if self.label_names and n and self.label.max() >= len(self.label_names):
            raise input_error("label_names", f"a name for every label up to {self.label.max()}",
                              f"{len(self.label_names)} names")

    def __len__(self):
        return self.label.shape[0]

    def take(self, rows):
        """The sub-table of ``rows`` (int array)."""
        rows = np.asarray(rows, dtype=np.int64)
        return TrialTable(self.label[rows], self.prediction[rows], self.decision_time_ms[rows],
                          {k: v[rows] for k, v in self.columns.items()}, self.label_names)


@dataclass(frozen=True, eq=False)
class EventTimes:
    """Times of one kind of event (e.g. licks): flat ``times_ms`` (trial-relative) and ``trial_index``."""

    times_ms: np.ndarray
    trial_index: np.ndarray

    def __post_init__(self):
        n = len(np.asarray(self.times_ms))
        object.__setattr__(self, "times_ms", _ro(self.times_ms, np.float64, "events.times_ms", n))
        object.__setattr__(self, "trial_index", _ro(self.trial_index, np.int64, "events.trial_index", n))


def _regular_times(first_ms, counts, period_ms):
    """Trial-relative times of regular pieces: ``first_ms[p] + k * period_ms``, k = 0 .. counts[p] - 1 (the one formula)."""
    counts = np.asarray(counts, np.int64)
    first = np.repeat(np.asarray(first_ms, np.float64), counts)
    k = np.arange(int(counts.sum()), dtype=np.float64) - np.repeat(np.cumsum(counts) - counts, counts)
    return first + k * float(period_ms)


def _piece_starts(trial_index):
    """Index of the first sample of every trial's run of samples (samples are grouped by trial)."""
    if not trial_index.size:
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.concatenate([[True], trial_index[1:] != trial_index[:-1]]))


@dataclass(frozen=True, eq=False)
class Signal:
    """A continuous signal beside the spikes (position, head direction, a stimulus waveform, LFP), cut into trials.

    Samples are stored like spikes and events: per trial, with **trial-relative** times. Sample ``k`` has the
    value ``values[k]`` (a row of channels), belongs to trial ``trial_index[k]`` and lies ``times_ms[k]`` ms after
    that trial's start, ``0 <= times_ms[k] < duration of the trial``. Samples are grouped by trial (``trial_index``
    does not decrease) and ascend in time within a trial. Trials that overlap on the recording's clock (aligned
    windows) each hold their own copy of the shared samples; what lies between trials is not part of the record
    (read a file with one trial spanning the session to keep everything). On the recording's own clock sample
    ``k`` lies at ``source_start_ms[trial_index[k]] + times_ms[k]`` (the trial column, when the record has one).

    Regular sampling (``sampling_rate_hz`` set) means, exactly, ``times_ms = t0_r + j * (1000 / sampling_rate_hz)``
    for the ``j``-th sample of trial ``r`` (:func:`_regular_times`; build such signals with :meth:`regular` or
    :meth:`cut`): every writer stores ``t0_r`` and the rate, every reader rebuilds the same floats.

    Attributes
    ----------
    values : ndarray, shape (n_samples,) or (n_samples, n_channels)
        Numbers (any numeric dtype, kept as given), physical units (``unit``).
    trial_index : ndarray of int64, shape (n_samples,)
    times_ms : ndarray of float64, shape (n_samples,)
    sampling_rate_hz : float or None
        None: irregular sampling (the times are the samples' own).
    unit : str
        Physical unit as the source spells it (``"m"``, ``"radians"``, ``"a.u."``).
    channel_names : tuple of str
        One per channel of a 2-D signal (may be empty); at most one for a 1-D signal.
    description : str
    kind : str
        What the source called it: ``"TimeSeries"``, ``"SpatialSeries"``, ``"AnalogSignal"`` ... (written back to NWB
        as a SpatialSeries when ``"SpatialSeries"``, else as a TimeSeries).
    attrs : dict of str -> str, int, float or bool
        Source attributes kept for writing back (``reference_frame``, ``nwb_path``, ``nwb_container``, ``comments``).
    """

    values: np.ndarray
    trial_index: np.ndarray
    times_ms: np.ndarray
    sampling_rate_hz: float = None
    unit: str = ""
    channel_names: tuple = ()
    description: str = ""
    kind: str = "TimeSeries"
    attrs: dict = field(default_factory=dict)

    def __post_init__(self):
        vals = np.asarray(self.values)
        if vals.dtype.kind not in "biuf" or vals.ndim not in (1, 2):
            raise input_error("signal.values", "a 1-D or 2-D array of numbers (n_samples[, n_channels])",
                              f"dtype {vals.dtype}, shape {vals.shape}")
        n = vals.shape[0]
        view = vals.view()
        view.flags.writeable = False
        object.__setattr__(self, "values", view)
        r = _ro(self.trial_index, np.int64, "signal.trial_index", n)
        t = _ro(self.times_ms, np.float64, "signal.times_ms", n)
        object.__setattr__(self, "trial_index", r)
        object.__setattr__(self, "times_ms", t)
        if n:
            if np.any(r[1:] < r[:-1]):
                raise input_error("signal.trial_index", "samples grouped by trial (non-decreasing trial_index)",
                                  "a trial index that decreases", "Sort the samples by (trial, time).")
            if not np.all(np.isfinite(t)):
                raise input_error("signal.times_ms", "finite times", f"{int(np.sum(~np.isfinite(t)))} non-finite")
            if np.any((t[1:] < t[:-1]) & (r[1:] == r[:-1])):
                raise input_error("signal.times_ms", "ascending times within each trial", "decreasing times",
                                  "Sort the samples by (trial, time).")
        rate = self.sampling_rate_hz
        if rate is not None:
            rate = float(rate)
            if not (np.isfinite(rate) and rate > 0):
                raise input_error("signal.sampling_rate_hz", "a finite float > 0 or None (irregular)", self.sampling_rate_hz)
            if n:
                first = _piece_starts(r)
                counts = np.diff(np.append(first, n))
                if not np.array_equal(_regular_times(t[first], counts, 1000.0 / rate), t):
                    raise input_error("signal.times_ms", f"times t0 + k * {1000.0 / rate!r} ms in every trial "
                                      "(regular sampling)", "other times",
                                      "Build it with Signal.regular, or pass sampling_rate_hz=None (irregular).")
        object.__setattr__(self, "sampling_rate_hz", rate)
        object.__setattr__(self, "unit", str(self.unit or ""))
        names = tuple(str(c) for c in (self.channel_names or ()))
        width = vals.shape[1] if vals.ndim == 2 else 1
        if names and len(names) != width:
            raise input_error("signal.channel_names", f"{width} names (one per channel) or none", len(names))
        object.__setattr__(self, "channel_names", names)
        object.__setattr__(self, "description", str(self.description or ""))
        object.__setattr__(self, "kind", str(self.kind or "TimeSeries"))
        attrs = {}
        for key, val in dict(self.attrs or {}).items():
            if not isinstance(val, (str, int, float, bool, np.integer, np.floating, np.bool_)):
                raise input_error(f"signal.attrs[{key!r}]", "a str, int, float or bool", type(val).__name__)
            attrs[str(key)] = val.item() if isinstance(val, np.generic) else val
        object.__setattr__(self, "attrs", attrs)

    # ------------------------------------------------------------------ sizes
    @property
    def n_samples(self):
        return self.values.shape[0]

    @property
    def n_channels(self):
        return self.values.shape[1] if self.values.ndim == 2 else 1

    @property
    def period_ms(self):
        """``1000 / sampling_rate_hz`` (None for an irregular signal)."""
        return None if self.sampling_rate_hz is None else 1000.0 / self.sampling_rate_hz

    def trial_bounds(self, n_trials):
        """``bounds[r]:bounds[r + 1]`` are the samples of trial ``r`` (shape (n_trials + 1,))."""
        return np.searchsorted(self.trial_index, np.arange(int(n_trials) + 1), side="left")

    def piece(self, trial):
        """``(times_ms, values)`` of one trial."""
        a, b = np.searchsorted(self.trial_index, [int(trial), int(trial) + 1])
        return self.times_ms[a:b], self.values[a:b]

    def _with(self, values, trial_index, times_ms):
        return Signal(values, trial_index, times_ms, self.sampling_rate_hz, self.unit, self.channel_names,
                      self.description, self.kind, self.attrs)

    # ------------------------------------------------------------------ construction
    @classmethod
    def regular(cls, values, sampling_rate_hz, start_ms=0.0, *, trials=None, counts=None, **fields):
        """A regularly sampled signal: piece ``p`` (trial ``trials[p]``) has ``counts[p]`` samples from ``start_ms[p]``.

        One piece by default (trial 0, every sample). ``fields`` are the other attributes (``unit``, ...).
        """
        vals = np.asarray(values)
        rate = float(sampling_rate_hz)
        if not (np.isfinite(rate) and rate > 0):
            raise input_error("sampling_rate_hz", "a finite float > 0", sampling_rate_hz)
        start = np.atleast_1d(np.asarray(start_ms, np.float64))
        counts = np.array([vals.shape[0]] if counts is None else counts, np.int64)
        trials = np.arange(counts.size) if trials is None else np.asarray(trials, np.int64)
        if not (start.size == counts.size == trials.size) or counts.sum() != vals.shape[0] or np.any(counts < 0):
            raise input_error("start_ms, trials, counts", f"one entry per piece, counts summing to {vals.shape[0]}",
                              f"{start.size}, {trials.size}, {counts.size} entries summing to {int(counts.sum())}")
        return cls(vals, np.repeat(trials, counts), _regular_times(start, counts, 1000.0 / rate), rate, **fields)

    @classmethod
    def cut(cls, values, starts_ms, stops_ms, *, times_ms=None, t_start_ms=None, sampling_rate_hz=None, **fields):
        """Cut a signal on the recording's clock into the trials ``[starts_ms[r], stops_ms[r])``.

        Give either the samples' own ``times_ms`` (irregular, ascending; returned signal irregular) or
        ``t_start_ms`` and ``sampling_rate_hz`` (regular: sample ``k`` at ``t_start_ms + k * 1000 / rate``).
        ``values`` may be a lazy array (an h5py dataset): only the pieces inside trials are read. A sample in
        several trials is copied into each; trial-relative times of a regular trial follow :func:`_regular_times`
        from the trial's first sample.

        Returns
        -------
        (Signal, int)
            The signal and the number of samples that lie in no trial.
        """
        starts, stops = np.asarray(starts_ms, np.float64), np.asarray(stops_ms, np.float64)
        n = int(values.shape[0])
        if times_ms is None:
            rate = float(sampling_rate_hz)
            period, t0 = 1000.0 / rate, float(t_start_ms)
            grid = lambda k: t0 + np.asarray(k, np.float64) * period  # noqa: E731
            lo = np.clip(np.ceil((starts - t0) / period).astype(np.int64), 0, n)
            lo = np.where((lo > 0) & (grid(lo - 1) >= starts), lo - 1, lo)
            lo = np.where((lo < n) & (grid(lo) < starts), lo + 1, lo)
            first = np.where(lo < n, grid(lo) - starts, 0.0)
            dur = stops - starts
            cnt = np.clip(np.ceil((dur - first) / period).astype(np.int64), 0, None)
            cnt = np.minimum(cnt, n - lo)
            cnt = np.where((cnt > 0) & (first + (cnt - 1) * period >= dur), cnt - 1, cnt)
            cnt = np.where((lo + cnt < n) & (first + cnt * period < dur), cnt + 1, cnt)
            cnt = np.maximum(cnt, 0)
            rel = _regular_times(first, cnt, period)
        else:
            t = np.asarray(times_ms, np.float64)
            if t.shape != (n,):
                raise input_error("times_ms", f"one time per sample ({n})", f"shape {t.shape}")
            if np.any(t[1:] < t[:-1]):
                raise input_error("times_ms", "ascending sample times", "unsorted times", "Sort the samples by time.")
            rate = None
            lo = np.searchsorted(t, starts, "left")
            cnt = np.maximum(np.searchsorted(t, stops, "left") - lo, 0)
            idx = np.repeat(lo, cnt) + np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            r = np.repeat(np.arange(starts.size), cnt)
            dur = stops - starts
            rel = np.minimum(t[idx] - starts[r], np.nextafter(dur[r], 0)) if idx.size else np.zeros(0)
        cover = np.zeros(n + 1, np.int64)
        np.add.at(cover, lo, 1)
        np.add.at(cover, lo + cnt, -1)
        outside = int(np.sum(np.cumsum(cover)[:-1] == 0))
        keep = np.flatnonzero(cnt > 0)
        pieces = [np.asarray(values[int(lo[p]):int(lo[p] + cnt[p])]) for p in keep]
        if pieces:
            vals = np.concatenate(pieces, axis=0)
        else:
            shape = tuple(getattr(values, "shape", (0,)))
            vals = np.zeros((0,) + shape[1:], dtype=getattr(values, "dtype", np.float64))
        return cls(vals, np.repeat(np.arange(starts.size), cnt), rel, rate, **fields), outside

    # ------------------------------------------------------------------ slicing (used by SpikeRecord)
    def take_trials(self, trial_map):
        """The samples of the trials with ``trial_map[r] >= 0``, renumbered ``trial_map[r]`` (in the new order)."""
        new = trial_map[self.trial_index] if self.n_samples else np.zeros(0, np.int64)
        keep = np.flatnonzero(new >= 0)
        order = keep[np.argsort(new[keep], kind="stable")]
        return self._with(self.values[order], new[order], self.times_ms[order])

    def window(self, start_ms, stop_ms):
        """The samples in ``[start_ms, stop_ms)`` of every trial, times from ``start_ms`` (a regular signal keeps its
        formula from each trial's first sample; a last sample that the formula puts at ``stop_ms`` is dropped)."""
        idx = np.flatnonzero((self.times_ms >= start_ms) & (self.times_ms < stop_ms))
        r, t = self.trial_index[idx], self.times_ms[idx] - start_ms
        if self.sampling_rate_hz is not None and idx.size:
            first = _piece_starts(r)
            t = _regular_times(t[first], np.diff(np.append(first, idx.size)), self.period_ms)
            ok = t < stop_ms - start_ms
            idx, r, t = idx[ok], r[ok], t[ok]
        return self._with(self.values[idx], r, t)

@dataclass(frozen=True, eq=False)
class SpikeRecord:
    """Spikes of ``n_units`` units in ``n_trials`` trials as flat arrays (see the module docstring).

    Attributes
    ----------
    times_ms : ndarray of float64
    unit_index, trial_index : ndarray of int64
    units : UnitTable
    trials : TrialTable
    trial_duration_ms : float
        Common trial window ``[0, trial_duration_ms)``; every spike lies inside it.
    meta : dict
        Provenance: ``spec_json``, ``seed``, ``version``, ``source`` ... (JSON-serialisable to be written).
    events : dict of str -> EventTimes
        Other timed events (behaviour), trial-relative.
    signals : dict of str -> Signal
        Continuous signals, per trial with trial-relative times (see :class:`Signal`); empty by default.
    """

    times_ms: np.ndarray
    unit_index: np.ndarray
    trial_index: np.ndarray
    units: UnitTable
    trials: TrialTable
    trial_duration_ms: float
    meta: dict = field(default_factory=dict)
    events: dict = field(default_factory=dict)
    signals: dict = field(default_factory=dict)

    def __post_init__(self):
        n = len(np.asarray(self.times_ms))
        t = _ro(self.times_ms, np.float64, "times_ms", n)
        u = _ro(self.unit_index, np.int64, "unit_index", n)
        r = _ro(self.trial_index, np.int64, "trial_index", n)
        object.__setattr__(self, "times_ms", t)
        object.__setattr__(self, "unit_index", u)
        object.__setattr__(self, "trial_index", r)
        if not isinstance(self.units, UnitTable):
            raise input_error("units", "a UnitTable", type(self.units).__name__)
        if not isinstance(self.trials, TrialTable):
            raise input_error("trials", "a TrialTable", type(self.trials).__name__)
        dur = float(self.trial_duration_ms)
        if not (np.isfinite(dur) and dur > 0):
            raise input_error("trial_duration_ms", "a finite float > 0", self.trial_duration_ms)
        object.__setattr__(self, "trial_duration_ms", dur)
        object.__setattr__(self, "meta", dict(self.meta or {}))
        if n:
            if not np.all(np.isfinite(t)):
                raise input_error("times_ms", "finite spike times (leave silent units out, do not write inf)",
                                  f"{int(np.sum(~np.isfinite(t)))} non-finite values")
            if t.min() < 0 or t.max() >= dur:
                raise input_error("times_ms", f"times in [0, trial_duration_ms={dur}) ms",
                                  f"range [{t.min()}, {t.max()}]", "Pass a longer trial_duration_ms.")
            _check_index(u, len(self.units), "unit_index", "units")
            _check_index(r, len(self.trials), "trial_index", "trials")
        if "duration_ms" in self.trials.columns:
            d = np.asarray(self.trials.columns["duration_ms"], float)
            if np.any(~(d > 0)) or np.any(d > dur):
                raise input_error("trials.columns['duration_ms']", f"durations in (0, {dur}] ms",
                                  f"range [{d.min()}, {d.max()}]")
            if n and np.any(t >= d[r]):
                raise input_error("times_ms", "every spike before the end of its own trial (duration_ms)",
                                  f"{int(np.sum(t >= d[r]))} spikes after it")
        ev = {}
        for key, val in dict(self.events or {}).items():
            if not isinstance(val, EventTimes):
                raise input_error(f"events[{key!r}]", "an EventTimes", type(val).__name__)
            if len(val.trial_index):
                _check_index(val.trial_index, len(self.trials), f"events[{key!r}].trial_index", "trials")
            ev[str(key)] = val
        object.__setattr__(self, "events", ev)
        object.__setattr__(self, "signals", self._checked_signals())

    def _checked_signals(self):
        out = {}
        d = self.trials.columns.get("duration_ms")
        d = np.full(self.n_trials, self.trial_duration_ms) if d is None else np.asarray(d, float)
        for key, sig in dict(self.signals or {}).items():
            if not isinstance(key, str) or not key:
                raise input_error("signals", "names that are non-empty str", repr(key))
            if not isinstance(sig, Signal):
                raise input_error(f"signals[{key!r}]", "a synsem_ephys.record.Signal", type(sig).__name__)
            if sig.n_samples:
                _check_index(sig.trial_index, self.n_trials, f"signals[{key!r}].trial_index", "trials")
                late = sig.times_ms >= d[sig.trial_index]
                if sig.times_ms.min() < 0 or np.any(late):
                    raise input_error(f"signals[{key!r}].times_ms", "trial-relative times in [0, duration of the "
                                      "trial)", f"{int(np.sum(late) + np.sum(sig.times_ms < 0))} samples outside")
            out[key] = sig
        return out

    # ------------------------------------------------------------------ sizes
    @property
    def n_units(self):
        return len(self.units)

    @property
    def n_trials(self):
        return len(self.trials)

    @property
    def n_spikes(self):
        return self.times_ms.shape[0]

    # ------------------------------------------------------------------ access
    def spikes_of(self, unit):
        """Spikes of one unit (row index or name): ``(times_ms, trial_index)`` sorted by trial then time."""
        if isinstance(unit, str):
            hits = np.flatnonzero(self.units.name == unit)
            if not hits.size:
                raise input_error("unit", "a unit name of this record", repr(unit))
            unit = int(hits[0])
        if not 0 <= int(unit) < self.n_units:
            raise input_error("unit", f"an index in [0, {self.n_units})", unit)
        sel = np.flatnonzero(self.unit_index == unit)
        order = np.lexsort((self.times_ms[sel], self.trial_index[sel]))
        return self.times_ms[sel][order], self.trial_index[sel][order]

    def first_spike_matrix(self):
        """First spike of every unit in every trial, ``(n_trials, n_units)`` float array in ms (+inf = none)."""
        out = np.full((self.n_trials, self.n_units), np.inf)
        np.minimum.at(out, (self.trial_index, self.unit_index), self.times_ms)
        return out

    def count_matrix(self):
        """Spike counts, ``(n_trials, n_units)`` int64."""
        flat = self.trial_index * self.n_units + self.unit_index
        return np.bincount(flat, minlength=self.n_trials * self.n_units).reshape(self.n_trials, self.n_units)

    def order_by_unit(self):
        """Permutation sorting spikes by (unit, trial, time): the order of a Neo Block."""
        u = self.unit_index
        # stable radix sort on the unit (16-bit keys), then check (trial, time) order within units
        order = np.argsort(u.astype(np.int16) if self.n_units < 2**15 else u, kind="stable")
        us, r, t = u[order], self.trial_index[order], self.times_ms[order]
        same = us[1:] == us[:-1]
        later = (r[1:] > r[:-1]) | ((r[1:] == r[:-1]) & (t[1:] >= t[:-1]))
        if np.all(later | ~same):
            return order
        return np.lexsort((self.times_ms, self.trial_index, u))

    def select(self, *, units=None, trials=None):
        """A new record with only the given unit rows and/or trial rows (renumbered in the given order)."""
        keep = np.ones(self.n_spikes, bool)
        utab, ttab, umap, tmap = self.units, self.trials, None, None
        if units is not None:
            units = np.asarray(units, np.int64)
            umap = np.full(self.n_units, -1)
            umap[units] = np.arange(units.size)
            keep &= umap[self.unit_index] >= 0
            utab = self.units.take(units)
        if trials is not None:
            trials = np.asarray(trials, np.int64)
            tmap = np.full(self.n_trials, -1)
            tmap[trials] = np.arange(trials.size)
            keep &= tmap[self.trial_index] >= 0
            ttab = self.trials.take(trials)
        u = self.unit_index[keep] if umap is None else umap[self.unit_index[keep]]
        r = self.trial_index[keep] if tmap is None else tmap[self.trial_index[keep]]
        events = self.events
        if tmap is not None:
            events = {k: EventTimes(v.times_ms[tmap[v.trial_index] >= 0], tmap[v.trial_index][tmap[v.trial_index] >= 0])
                      for k, v in self.events.items()}
        signals = self.signals
        if tmap is not None:
            signals = {k: v.take_trials(tmap) for k, v in self.signals.items()}
        return SpikeRecord(self.times_ms[keep], u, r, utab, ttab, self.trial_duration_ms, dict(self.meta), events,
                           signals)

    def window(self, start_ms, stop_ms, *, trials=None):
        """A new record of the spikes in ``[start_ms, stop_ms)`` of each trial, with time 0 at ``start_ms``.

        ``trials`` (optional rows) are selected first, as :meth:`select` does. The trial duration becomes
        ``stop_ms - start_ms`` (a per-trial ``duration_ms`` column is dropped); events and signals are cut the
        same way; the trial columns ``source_start_ms`` (the trial's start on the source clock) and
        ``stimulus_onset_ms`` (trial-relative) move with the new time 0.
        The window must lie inside the trial: ``0 <= start_ms < stop_ms <= trial_duration_ms``.
        """
        start, stop = float(start_ms), float(stop_ms)
        if not (0.0 <= start < stop <= self.trial_duration_ms):
            raise input_error("start_ms, stop_ms", f"0 <= start_ms < stop_ms <= {self.trial_duration_ms} (the trial)",
                              (start_ms, stop_ms), "Trial-relative times in ms.")
        r = self if trials is None else self.select(trials=trials)
        keep = (r.times_ms >= start) & (r.times_ms < stop)
        cols = {k: v for k, v in r.trials.columns.items() if k != "duration_ms"}
        for key in ("source_start_ms", "stimulus_onset_ms"):  # the new time 0 is start_ms into each trial
            if key in cols and cols[key].dtype.kind == "f":
                cols[key] = cols[key] + start if key == "source_start_ms" else cols[key] - start
        trials_t = TrialTable(r.trials.label, r.trials.prediction, r.trials.decision_time_ms - start, cols,
                              r.trials.label_names)
        events = {k: EventTimes(v.times_ms[(v.times_ms >= start) & (v.times_ms < stop)] - start,
                                v.trial_index[(v.times_ms >= start) & (v.times_ms < stop)]) for k, v in r.events.items()}
        meta = dict(r.meta, window_ms=[start, stop])
        signals = {k: v.window(start, stop) for k, v in r.signals.items()}
        return SpikeRecord(r.times_ms[keep] - start, r.unit_index[keep], r.trial_index[keep], r.units, trials_t,
                           stop - start, meta, events, signals)

    def with_decisions(self, output=None):
        """A new record whose trials' ``prediction`` and ``decision_time_ms`` come from its own output units.

        The rule of :mod:`synsem_ephys.decision`: the decision is the class of the earliest output spike (the
        unit's position among ``output``), its time that spike's time; -1 / +inf where no output unit fired.
        For records of other simulators (NEST, Brian2, spike tensors), which carry no decisions.

        Parameters
        ----------
        output : None, str or array of int
            The output units: rows of the unit table, or a population name; None: the units of cell type
            ``"output"``, else the population ``"output"``.
        """
        if output is None:
            rows = np.flatnonzero(self.units.cell_type == "output")
            if not rows.size:
                rows = np.flatnonzero(self.units.population == "output")
            what = "units of cell type or population 'output'"
        elif isinstance(output, str):
            rows = np.flatnonzero(self.units.population == output)
            what = f"units of population {output!r}"
        else:
            rows = np.asarray(output, np.int64)
            what = "unit rows"
            if rows.ndim != 1 or (rows.size and (rows.min() < 0 or rows.max() >= self.n_units)):
                raise input_error("output", f"unit rows in [0, {self.n_units})", repr(output))
        if not rows.size:
            pops = sorted(set(self.units.population.tolist()))
            raise input_error("output", f"{what} (the populations are {pops})", "none",
                              "Name the output population: with_decisions(output=NAME).")
        t_out = self.first_spike_matrix()[:, rows]
        tr = self.trials
        trials = TrialTable(tr.label, predict(t_out), decision_time(t_out), tr.columns, tr.label_names)
        return SpikeRecord(self.times_ms, self.unit_index, self.trial_index, self.units, trials, self.trial_duration_ms,
                           dict(self.meta, decisions_from=what), self.events, self.signals)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_layer_times(cls, layer_times, populations, *, labels=None, predictions=None,
                         trial_duration_ms=None, meta=None):
        """Build a record from dense first-spike times, one array per layer (the simulator's output).

        Parameters
        ----------
        layer_times : list of ndarray, shape (n_trials, n_units_in_layer)
            First-spike times in ms, ``+inf`` = no spike; one array per layer, input layer first.
        populations : list
            ``NetworkSpec.populations()``: objects with ``name, layer, cell_type, start, stop``;
            the populations of layer ``k`` must tile ``range(layer_times[k].shape[1])``. A layer may be
            left out as an ``(n_trials, 0)`` array without populations (e.g. to drop the inputs).
        labels, predictions : array of int, optional
            Per-trial class label and prediction (-1 = absent; default all -1).
        trial_duration_ms : float, optional
            Default: the latest finite spike + 1 ms, rounded up to a whole ms (1 ms if no spike).
        meta : dict, optional
            Provenance (spec JSON, seed, ...).

        Returns
        -------
        SpikeRecord
            Units in layer order; the decision time of a trial is its earliest output-layer spike.
        """
        if not isinstance(layer_times, (list, tuple)) or not layer_times:
            raise input_error("layer_times", "a non-empty list of (n_trials, n_units) arrays", type(layer_times).__name__)
        mats = []
        for k, m in enumerate(layer_times):
            m = np.asarray(m, dtype=np.float64)
            if m.ndim != 2:
                raise input_error(f"layer_times[{k}]", "a 2-D array (n_trials, n_units)", f"shape {m.shape}")
            if np.isnan(m).any() or (m < 0).any():
                raise input_error(f"layer_times[{k}]", "times >= 0 or +inf (no spike)", "NaN or negative values")
            mats.append(m)
        n_trials = mats[0].shape[0]
        if any(m.shape[0] != n_trials for m in mats):
            raise input_error("layer_times", "the same number of trials in every layer", [m.shape for m in mats])
        populations = list(populations)
        for k, m in enumerate(mats):
            pops = sorted((p for p in populations if p.layer == k), key=lambda p: p.start)
            cover = [i for p in pops for i in (p.start, p.stop)]
            if not pops and m.shape[1] == 0:  # an empty layer (e.g. inputs left out) needs no population
                continue
            if not pops or cover[0] != 0 or cover[-1] != m.shape[1] or any(
                    cover[2 * i + 1] != cover[2 * i + 2] for i in range(len(pops) - 1)):
                raise input_error("populations", f"populations of layer {k} tiling [0, {m.shape[1]})",
                                  [(p.name, p.start, p.stop) for p in pops])
        if any(p.layer >= len(mats) for p in populations):
            raise input_error("populations", f"layers < {len(mats)} (one array per layer)", max(p.layer for p in populations))
        pops = sorted(populations, key=lambda p: (p.layer, p.start))
        units = UnitTable.from_populations(pops)
        offsets = np.cumsum([0] + [m.shape[1] for m in mats])
        times, uidx, ridx = [], [], []
        for k, m in enumerate(mats):
            r, c = np.nonzero(np.isfinite(m))
            times.append(m[r, c])
            uidx.append(c + offsets[k])
            ridx.append(r)
        times, uidx, ridx = (np.concatenate(a) for a in (times, uidx, ridx))
        out_layer = len(mats) - 1
        out_types = [p.layer for p in pops if p.cell_type == "output"]
        if out_types:
            out_layer = out_types[0]
        decision = decision_time(mats[out_layer])
        if trial_duration_ms is None:
            trial_duration_ms = float(np.ceil(times.max() + 1.0)) if times.size else 1.0
        lab = np.full(n_trials, -1) if labels is None else np.asarray(labels)
        pred = np.full(n_trials, -1) if predictions is None else np.asarray(predictions)
        for name, arr in (("labels", lab), ("predictions", pred)):
            if arr.shape != (n_trials,):
                raise input_error(name, f"shape ({n_trials},)", f"shape {arr.shape}")
        trials = TrialTable(lab, pred, decision, columns={"stimulus_onset_ms": np.zeros(n_trials)})
        meta = dict(meta or {})
        meta.setdefault("source", "synsem_ephys.sim")
        return cls(times, uidx, ridx, units, trials, trial_duration_ms, meta)


def _check_index(idx, n, name, table):
    if idx.min() < 0 or idx.max() >= n:
        raise input_error(name, f"indices in [0, {n}) (rows of {table})", f"range [{idx.min()}, {idx.max()}]")
