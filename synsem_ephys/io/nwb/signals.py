"""Continuous signals of NWB files: TimeSeries / SpatialSeries <-> the record's :class:`~synsem_ephys.record.Signal` s.

Reading (``read_nwb(path, signals=...)``)
-----------------------------------------
``signals=None`` (the default) reads none from a third-party file (reading stays as fast as before) and,
from a file of this package, the signals it was written with; ``False`` none; a list names series (name
or path, any TimeSeries subclass: SpatialSeries in a ``Position`` or ``CompassDirection`` container, a
stimulus waveform, an ElectricalSeries of LFP); ``"all"`` takes every numeric 1-D or 2-D TimeSeries in
``acquisition``, ``processing`` and ``stimulus`` that is not an event series (what ``events=True`` reads:
BehavioralEvents, AnnotationSeries, plain 1-D TimeSeries with timestamps; IntervalSeries neither) and holds
at most :data:`ALL_MAX_VALUES` values; the others are listed with the reason in ``meta['skipped_signals']``.
A series read as a signal is not also read as events.

Each series is cut into the trials (:meth:`Signal.cut`): a ``rate``-based series (sample ``k`` at
``starting_time + k / rate``) stays regular, with trial-relative times ``t0_r + j * 1000 / rate`` from the
trial's first sample; a ``timestamps``-based one is irregular (timestamps out of order, which the standard
forbids but files hold, are sorted, stably, and counted in ``meta['n_signal_timestamps_out_of_order']``).
Only the samples inside trials are read from the file (all of an unsorted series). ``data * conversion + offset`` gives the values (the raw dtype when conversion is 1 and
offset 0). ``meta['signal_sources']`` names the series of every signal and
``meta['n_signal_samples_outside_trials']`` counts what lies in no trial.

Writing (``write_nwb``)
-----------------------
Every signal becomes one series on the session clock of the spikes (trial ``r`` at ``starts[r]``): a
SpatialSeries (``kind == "SpatialSeries"``, with its ``reference_frame``) or a TimeSeries, where it was read
from (``attrs['nwb_path']``; a container of :mod:`pynwb.behavior` recreated), else a SpatialSeries in
``processing/behavior/Position`` and a TimeSeries in ``acquisition``. A sample shared by overlapping trials
is written once. The series has ``rate`` and ``starting_time`` when its samples lie on one regular grid
(e.g. a single trial), else ``timestamps``. As for spikes, seconds on the session clock cannot give back
trial-relative milliseconds bit for bit, so the DynamicTable ``processing/synsem_ephys/signal_pieces`` keeps
one row per (signal, trial): the series' first sample, the number of samples, the trial-relative start
and (irregular) the trial-relative times; files of this package are read back from it exactly.
"""

import numpy as np

from ...errors import DataFormatError, input_error
from ...record import Signal
from ...units import ms_from_s, s_from_ms
from ._common import _catalogue, _find

__all__ = ["ALL_MAX_VALUES", "PIECES_MODULE", "PIECES_TABLE"]

#: ``signals="all"`` skips a series with more values than this (name it to read it anyway).
ALL_MAX_VALUES = 50_000_000
#: Processing module and table holding the exact trial pieces of the signals written by this package.
PIECES_MODULE, PIECES_TABLE = "synsem_ephys", "signal_pieces"
_ROOTS = ("acquisition", "processing", "stimulus")
_CONTAINERS = ("Position", "CompassDirection", "BehavioralTimeSeries", "PupilTracking", "EyeTracking")
_SPATIAL = ("Position", "CompassDirection", "EyeTracking")  # containers of SpatialSeries only


def check_signals(signals):
    """Refuse a ``signals`` argument that is not None, False, "all" or a list of names."""
    ok = signals is None or signals is False or signals == "all" or (
        isinstance(signals, (list, tuple)) and all(isinstance(s, str) and s for s in signals))
    if not ok:
        raise input_error("signals", "None, False, 'all' or a list of TimeSeries names or paths", repr(signals))


def _is_event_series(obj, where):
    parent = type(obj.parent).__name__
    plain = type(obj).__name__ == "TimeSeries" and obj.timestamps is not None \
        and len(getattr(obj.data, "shape", np.shape(obj.data))) <= 1
    return parent == "BehavioralEvents" or type(obj).__name__ in ("AnnotationSeries", "IntervalSeries") or (
        plain and where.split("/")[0] in ("acquisition", "processing"))


def _sources(nwb, signals):
    """``[(path, series)]`` chosen by ``signals`` and ``{path: reason}`` of the series "all" leaves out."""
    if signals == "all":
        out, skipped = [], {}
        for where, obj in _catalogue(nwb, ("TimeSeries",)).items():
            if where.split("/")[0] not in _ROOTS or _is_event_series(obj, where):
                continue
            why = _unreadable(obj)
            if why is None and int(np.prod(obj.data.shape)) > ALL_MAX_VALUES:
                why = f"{int(np.prod(obj.data.shape))} values (> {ALL_MAX_VALUES}; name it to read it)"
            if why is None:
                out.append((where, obj))
            else:
                skipped[where] = why
        return out, skipped
    out = []
    for name in signals:
        where, obj = _find(nwb, name, ("TimeSeries",), "signals")
        why = _unreadable(obj)
        if why is not None:
            raise input_error("signals", "numeric 1-D or 2-D TimeSeries", f"{where}: {why}")
        out.append((where, obj))
    return out, {}


def _unreadable(obj):
    shape = tuple(getattr(obj.data, "shape", np.shape(obj.data)))
    dtype = getattr(obj.data, "dtype", np.asarray(obj.data[:1]).dtype)
    if len(shape) not in (1, 2):
        return f"data of shape {shape} (not 1-D or 2-D)"
    if np.dtype(dtype).kind not in "biuf":
        return f"non-numeric data ({dtype})"
    if obj.timestamps is None and obj.rate is None:
        return "neither timestamps nor rate"
    return None


def read_signals(nwb, signals, starts_ms, stops_ms, descriptions):
    """The record's signals from third-party series (module docstring), and what ``meta`` says about them."""
    if signals is None or signals is False:
        return {}, {}
    chosen, skipped = _sources(nwb, signals)
    names = [obj.name for _, obj in chosen]
    out, paths, outside, unsorted = {}, {}, {}, {}
    for where, obj in chosen:
        name = obj.name if names.count(obj.name) == 1 else where
        sig, n_out, n_unsorted = _cut_series(obj, where, starts_ms, stops_ms)
        out[name], paths[name] = sig, where
        descriptions[f"signals.{name}"] = sig.description
        if n_out:
            outside[name] = n_out
        if n_unsorted:
            unsorted[name] = n_unsorted
    meta = {"signal_sources": paths}
    if unsorted:
        meta["n_signal_timestamps_out_of_order"] = unsorted
    if outside:
        meta["n_signal_samples_outside_trials"] = outside
    if skipped:
        meta["skipped_signals"] = skipped
    return out, meta


def _cut_series(obj, where, starts_ms, stops_ms):
    attrs = {"nwb_path": where}
    parent = type(obj.parent).__name__
    if parent in _CONTAINERS:
        attrs["nwb_container"] = parent
    if getattr(obj, "reference_frame", None):
        attrs["reference_frame"] = str(obj.reference_frame)
    if obj.comments and obj.comments != "no comments":
        attrs["comments"] = str(obj.comments)
    fields = dict(unit=str(obj.unit or ""), description=str(obj.description or ""), kind=type(obj).__name__,
                  attrs=attrs)
    unsorted = 0
    if obj.timestamps is not None:
        t = ms_from_s(np.asarray(obj.timestamps[:], float))
        if not np.all(np.isfinite(t)):
            raise input_error("signals", "series with finite timestamps", f"{where}: {int(np.sum(~np.isfinite(t)))} "
                              "not finite", cls=DataFormatError)
        data = obj.data
        unsorted = int(np.sum(np.diff(t) < 0))
        if unsorted:  # NWB asks for ascending timestamps; some files do not keep to it: sorted (stable), counted
            order = np.argsort(t, kind="stable")
            t, data = t[order], np.asarray(data[:])[order]
        sig, outside = Signal.cut(data, starts_ms, stops_ms, times_ms=t, **fields)
    else:
        sig, outside = Signal.cut(obj.data, starts_ms, stops_ms, t_start_ms=ms_from_s(float(obj.starting_time or 0.0)),
                                  sampling_rate_hz=float(obj.rate), **fields)
    conv, off = float(obj.conversion), float(getattr(obj, "offset", 0.0) or 0.0)
    if conv != 1.0 or off != 0.0:
        sig = Signal(sig.values * conv + off, sig.trial_index, sig.times_ms, sig.sampling_rate_hz, **fields)
    return sig, outside, unsorted


def drop_signal_events(events, events_meta, signal_paths):
    """Leave out of the record's events the series that are read as signals."""
    src = events_meta.get("event_sources", {})
    gone = [k for k, where in src.items() if where in set(signal_paths)]
    for k in gone:
        events.pop(k, None)
        src.pop(k, None)
        events_meta.get("n_events_outside_trials", {}).pop(k, None)
    return events, events_meta


# ====================================================================== files of this package
def read_our_signals(nwb, notes, signals):
    """The signals of a file written by :func:`write_signals`, exactly (``signals``: None / "all" = every one)."""
    spec = notes.get("signals") or {}
    if signals is False or not spec:
        return {}
    wanted = list(spec) if signals in (None, "all") else list(signals)
    missing = [w for w in wanted if w not in spec]
    if missing:
        raise input_error("signals", f"signals of this file, among {sorted(spec)}", missing)
    table = nwb.processing[PIECES_MODULE][PIECES_TABLE]
    name = np.asarray([v.decode() if isinstance(v, bytes) else str(v) for v in table["signal"].data[:]])
    trial = np.asarray(table["trial_index"].data[:], np.int64)
    first = np.asarray(table["first_sample"].data[:], np.int64)
    count = np.asarray(table["n_samples"].data[:], np.int64)
    t0 = np.asarray(table["start_in_trial_ms"].data[:], np.float64)
    flat_t = np.asarray(table["time_in_trial_ms"].target.data[:], np.float64)
    ends = np.asarray(table["time_in_trial_ms"].data[:], np.int64)
    out = {}
    for key in wanted:
        d = spec[key]
        series = _find(nwb, d["path"], ("TimeSeries",), "signals")[1]
        rows = np.flatnonzero(name == key)
        tail = tuple(d["shape_tail"])
        data = series.data
        vals = [np.asarray(data[int(first[i]):int(first[i] + count[i])]) for i in rows]
        values = np.concatenate(vals, axis=0) if vals else np.zeros((0,) + tail, d["dtype"])
        values = values.astype(d["dtype"], copy=False).reshape((-1,) + tail)
        fields = dict(unit=d["unit"], channel_names=tuple(d["channel_names"]), description=d["description"],
                      kind=d["kind"], attrs=d["attrs"])
        if d["sampling_rate_hz"] is not None:
            out[key] = Signal.regular(values, d["sampling_rate_hz"], t0[rows], trials=trial[rows], counts=count[rows],
                                      **fields)
        else:
            starts = np.concatenate([[0], ends[:-1]])
            times = np.concatenate([flat_t[starts[i]:ends[i]] for i in rows]) if rows.size else np.zeros(0)
            out[key] = Signal(values, np.repeat(trial[rows], count[rows]), times, None, **fields)
    return out


def write_signals(record, starts_ms, overlap, nwb_name):
    """``(series, pieces_table, notes)``: the NWB objects of the record's signals (module docstring).

    ``series`` is a list of ``(path, TimeSeries, container_type)``; nothing when the record has no signals.
    """
    if not record.signals:
        return [], None, {}
    from hdmf.common import DynamicTable, VectorData, VectorIndex

    series, notes, taken = [], {}, {}
    rows = {"signal": [], "trial_index": [], "first_sample": [], "n_samples": [], "start_in_trial_ms": []}
    ragged, ends = [], []
    for key, sig in record.signals.items():
        uniq, first_of = _unique_samples(sig, starts_ms, overlap)
        where = _location(key, sig, taken, nwb_name)
        ts = _Pending(where.split("/")[-1], sig, uniq)
        container = (sig.attrs.get("nwb_container") or "Position") if len(where.split("/")) == 4 else None
        series.append((where, ts, container))
        notes[key] = dict(path=where, unit=sig.unit, sampling_rate_hz=sig.sampling_rate_hz, kind=sig.kind,
                          attrs=sig.attrs, channel_names=list(sig.channel_names), description=sig.description,
                          dtype=str(sig.values.dtype), shape_tail=list(sig.values.shape[1:]))
        bounds = np.flatnonzero(np.concatenate([[True], sig.trial_index[1:] != sig.trial_index[:-1]])) \
            if sig.n_samples else np.zeros(0, np.int64)
        stops = np.append(bounds[1:], sig.n_samples)
        for a, b in zip(bounds.tolist(), stops.tolist()):
            rows["signal"].append(key)
            rows["trial_index"].append(int(sig.trial_index[a]))
            rows["first_sample"].append(int(first_of[a]))
            rows["n_samples"].append(b - a)
            rows["start_in_trial_ms"].append(float(sig.times_ms[a]))
            if sig.sampling_rate_hz is None:
                ragged.append(sig.times_ms[a:b])
            ends.append(sum(len(x) for x in ragged))
    descr = {"signal": "record signal of the piece", "trial_index": "the record's trial (row of the trials table)",
             "first_sample": "index of the piece's first sample in the signal's series",
             "n_samples": "samples of the piece (consecutive in the series)",
             "start_in_trial_ms": "time of the first sample from the start of the trial (ms), exactly as in the record"}
    cols = [VectorData(name=c, description=descr[c], data=v) for c, v in rows.items()]
    times = VectorData(name="time_in_trial_ms", description="irregular signals: the samples' times from the start of "
                       "the trial (ms), exactly as in the record; regular ones: none (start + k / rate)",
                       data=np.concatenate(ragged) if ragged else np.zeros(0))
    cols += [times, VectorIndex(name="time_in_trial_ms_index", data=np.asarray(ends, np.int64), target=times)]
    table = DynamicTable(name=PIECES_TABLE, description="synsem_ephys: the trial pieces of every signal, exact",
                         columns=cols, id=np.arange(len(rows["signal"])))
    return series, table, notes


def _unique_samples(sig, starts_ms, overlap):
    """Samples in session order written once (a sample shared by overlapping trials once), and, for every
    record sample, its index in that series."""
    session = starts_ms[sig.trial_index] + sig.times_ms if sig.n_samples else np.zeros(0)
    order = np.argsort(session, kind="stable")
    ts = session[order]
    if overlap and ts.size > 1:
        same = (ts[1:] - ts[:-1] <= 4 * np.spacing(np.abs(ts[1:]))) & (
            sig.trial_index[order][1:] != sig.trial_index[order][:-1])
        group = np.concatenate([[0], np.cumsum(~same)])
    else:
        group = np.arange(ts.size)
    keep = np.concatenate([[True], group[1:] != group[:-1]]) if ts.size else np.zeros(0, bool)
    first_of = np.empty(ts.size, np.int64)
    first_of[order] = group
    return order[keep], first_of


def _location(key, sig, taken, nwb_name):
    where = str(sig.attrs.get("nwb_path") or "")
    parts = where.split("/")
    ok = (parts[0] in ("acquisition", "stimulus") and len(parts) == 2) or (
        parts[0] == "processing" and len(parts) == 3) or (
        parts[0] == "processing" and len(parts) == 4 and sig.attrs.get("nwb_container") in _CONTAINERS
        and (sig.attrs["nwb_container"] in _SPATIAL) == (sig.kind == "SpatialSeries"))
    if not ok or parts[0] == "processing" and parts[1] == PIECES_MODULE:
        if sig.kind == "SpatialSeries":
            parts = ["processing", "behavior", "Position", key]
        else:
            parts = ["acquisition", key]
    group = "/".join(parts[:-1])
    parts[-1] = nwb_name(parts[-1], taken=taken.setdefault(group, set()))
    taken[group].add(parts[-1])
    return "/".join(parts)


class _Pending:
    """A series to build once the trials' session starts are known (:func:`_build`)."""

    def __init__(self, name, sig, uniq):
        self.name, self.sig, self.uniq = name, sig, uniq


def _build(pending, starts_ms):
    """The pynwb series of a :class:`_Pending`: rate + starting_time on one regular grid, else timestamps."""
    import pynwb
    from pynwb.behavior import SpatialSeries

    sig, uniq, name = pending.sig, pending.uniq, pending.name
    kw = dict(name=name, data=sig.values[uniq], unit=sig.unit or "n.a.", description=sig.description or f"signal {name}",
              comments=str(sig.attrs.get("comments", "no comments")))
    session_ms = (starts_ms[sig.trial_index] + sig.times_ms)[uniq] if uniq.size else np.zeros(0)
    period = sig.period_ms
    steps = np.diff(session_ms)
    if period is not None and session_ms.size and np.all(np.abs(steps - period) <= 1e-9 * max(period, 1.0)):
        kw.update(rate=float(sig.sampling_rate_hz), starting_time=float(s_from_ms(session_ms[0])))
    else:
        kw["timestamps"] = s_from_ms(session_ms)
    if sig.kind == "SpatialSeries":
        return SpatialSeries(reference_frame=str(sig.attrs.get("reference_frame", "unknown")), **kw)
    return pynwb.TimeSeries(**kw)


def add_to_file(nwb, series, starts_ms, table, notes):
    """Put the series and the pieces table into ``nwb``; ``notes`` gets the signals' description (JSON-ready)."""
    import pynwb.behavior as behavior

    if table is None:
        return
    for where, pending, container in series:
        ts = _build(pending, starts_ms)
        parts = where.split("/")
        if parts[0] == "acquisition":
            nwb.add_acquisition(ts)
        elif parts[0] == "stimulus":
            nwb.add_stimulus(ts)
        else:
            mod = nwb.processing.get(parts[1]) or nwb.create_processing_module(parts[1], f"{parts[1]} data")
            if len(parts) == 4:
                box = mod.data_interfaces.get(parts[2])
                if box is None:
                    box = getattr(behavior, container)(name=parts[2])
                    mod.add(box)
                (box.add_spatial_series if container in _SPATIAL else box.add_timeseries)(ts)
            else:
                mod.add(ts)
    mod = nwb.create_processing_module(PIECES_MODULE, "synsem_ephys: exact trial-relative times of the signals")
    mod.add(table)

