"""NWB files through pynwb directly (neo's NWBIO drops annotations and fails on DANDI files).

Writing: the Units table holds each unit's spike times in seconds on the Block's time axis (trials end
to end, ``offset_r = r * (trial_duration_ms + gap_ms)``) with columns name, population, layer, cell_type,
index_in_population, channel_id (+ extra unit columns); the Trials table holds start/stop in seconds
and columns label, label_name, prediction, decision_time_ms (+ trial columns); record events become
acquisition ``TimeSeries`` (timestamps); provenance is JSON in ``notes``. Writes are atomic.

Reading (ours or third-party, e.g. DANDI): spike ``s`` belongs to trial ``r`` when
``start_r <= t_s < stop_r``; its time is ``1000 * t_s - 1000 * start_r`` ms. Trials without a stop time
(NaN, as in DANDI:000006) end where the next trial starts; the last one then lasts as long as the longest
other trial. Spikes outside every trial are dropped and counted in ``meta['n_spikes_outside_trials']``.
Times pass through seconds, so a round trip is exact to about one ulp of the session time.
"""

import datetime
import json
import uuid

import numpy as np

from .._files import atomic_path, existing_file
from ..errors import DataFormatError, input_error
from ..optional import require
from ..record import EventTimes, SpikeRecord, TrialTable, UnitTable
from ..units import ms_from_s, s_from_ms
from . import layout as L

__all__ = ["write_nwb", "read_nwb", "LABEL_COLUMNS", "POPULATION_COLUMNS"]

#: Trials columns tried, in order, as the class label when ``label_column="auto"``.
LABEL_COLUMNS = ("type", "trial_type", "condition", "stimulus", "label")
#: Units columns tried, in order, as the population when ``population_column="auto"``.
POPULATION_COLUMNS = ("cell_type",)
_OURS = L.UNIT_FIELDS
_COL = {"name": "unit_name"}  # "name" is an attribute of the pynwb Units table


def write_nwb(record, path, *, gap_ms=None, session_description=None, identifier=None, session_start_time=None):
    """Write a SpikeRecord to an NWB file at ``path`` (atomic). Returns the path."""
    require("pynwb", "writing NWB files")
    import pynwb
    from hdmf.common import VectorData, VectorIndex
    from pynwb.epoch import TimeIntervals
    from pynwb.misc import Units

    if not isinstance(record, SpikeRecord):
        raise input_error("record", "a synsem_ephys.record.SpikeRecord", type(record).__name__)
    dur = record.trial_duration_ms
    gap = L.default_gap_ms(dur) if gap_ms is None else float(gap_ms)
    meta = record.meta
    start = session_start_time or (datetime.datetime.fromisoformat(meta["rec_datetime"]) if isinstance(
        meta.get("rec_datetime"), str) else datetime.datetime.now(datetime.timezone.utc))
    if start.tzinfo is None:
        start = start.replace(tzinfo=datetime.timezone.utc)
    notes = dict(synsem_layout=L.LAYOUT, trial_duration_ms=dur, gap_ms=gap, label_names=list(record.trials.label_names),
                 trial_columns=list(record.trials.columns), unit_columns=list(record.units.columns),
                 meta=json.loads(L.meta_json(meta)))
    units, trials = record.units, record.trials
    offsets = L.trial_offsets_ms(record.n_trials, dur, gap)
    durations = np.asarray(trials.columns.get("duration_ms", np.full(record.n_trials, dur)), float)
    tcols = {"start_time": s_from_ms(offsets), "stop_time": s_from_ms(offsets + durations), "label": trials.label,
             "label_name": L.label_strings(trials), "prediction": trials.prediction,
             "decision_time_ms": trials.decision_time_ms, **trials.columns}
    table = TimeIntervals(name="trials", description="synsem_ephys trials, end to end", id=np.arange(record.n_trials),
                          columns=[VectorData(name=c, description=f"synsem_ephys trial {c}",
                                              data=v.tolist() if v.dtype.kind == "U" else np.asarray(v))
                                   for c, v in tcols.items()])
    order = record.order_by_unit()
    ends = np.searchsorted(record.unit_index[order], np.arange(1, record.n_units + 1))
    spike_times = VectorData(name="spike_times", description="spike times (s), trials end to end",
                             data=s_from_ms(offsets[record.trial_index[order]] + record.times_ms[order]))
    ucols = [spike_times, VectorIndex(name="spike_times_index", data=ends, target=spike_times)]
    for c in _OURS + tuple(units.columns):
        v = getattr(units, c) if c in _OURS else units.columns[c]
        ucols.append(VectorData(name=_COL.get(c, c), description=f"synsem_ephys unit {c}",
                                data=v.tolist() if v.dtype.kind == "U" else np.asarray(v)))
    utable = Units(name="units", id=np.arange(record.n_units), columns=ucols, description="synsem_ephys units")
    nwb = pynwb.NWBFile(session_description=session_description or str(meta.get("description", "synsem_ephys recording")),
                        identifier=identifier or str(uuid.uuid4()), session_start_time=start, notes=json.dumps(notes),
                        trials=table, units=utable)
    for key, ev in record.events.items():
        nwb.add_acquisition(pynwb.TimeSeries(name=key, data=np.ones(len(ev.times_ms)), unit="a.u.",
                                             timestamps=s_from_ms(offsets[ev.trial_index] + ev.times_ms),
                                             description=f"synsem_ephys event {key}"))
    with atomic_path(path, ".nwb") as tmp:
        with pynwb.NWBHDF5IO(tmp, "w") as io:
            io.write(nwb)
    return existing_file(path, "NWB")


def read_nwb(path, *, label_column=None, population_column=None, events=True):
    """Read an NWB file (written by :func:`write_nwb` or third-party) into a SpikeRecord.

    Parameters
    ----------
    path : str or Path
    label_column : str or None or "auto"
        Trials column whose categories become class labels (sorted; names in ``label_names``);
        ``"auto"`` takes the first of :data:`LABEL_COLUMNS` present, None none.
        Ignored for files written by synsem_ephys, whose labels are restored exactly.
    population_column : str or None or "auto"
        Units column giving each unit's population (None: all units in population "units");
        ``"auto"`` takes the first of :data:`POPULATION_COLUMNS` present.
    events : bool
        Read ``BehavioralEvents`` / ``TimeSeries`` timestamps in ``acquisition`` as record events.

    Raises
    ------
    DataMissingError, DataFormatError
    """
    require("pynwb", "reading NWB files")
    import pynwb

    path = existing_file(path, "NWB")
    try:
        io = pynwb.NWBHDF5IO(str(path), "r", load_namespaces=True)
        nwb = io.read()
    except Exception as exc:  # h5py OSError for non-HDF5/truncated files, hdmf errors for non-NWB HDF5
        raise input_error("path", "an NWB (HDF5) file", f"{path} ({type(exc).__name__}: {exc})",
                          "Check the file is complete and really NWB.", cls=DataFormatError) from exc
    try:
        return _read(nwb, path, label_column, population_column, events)
    finally:
        io.close()


def _read(nwb, path, label_column, population_column, events):
    notes = _our_notes(nwb.notes)
    if label_column == "auto":
        tcols = set(nwb.trials.colnames) if nwb.trials is not None else set()
        label_column = next((c for c in LABEL_COLUMNS if c in tcols), None)
    if population_column == "auto":
        ucols = set(nwb.units.colnames) if nwb.units is not None else set()
        population_column = next((c for c in POPULATION_COLUMNS if c in ucols), None)
    if nwb.units is None or "spike_times" not in nwb.units.colnames:
        raise input_error("path", "an NWB file with a Units table holding spike_times", f"{path} without one",
                          cls=DataFormatError)
    units_t = nwb.units
    flat_s = np.asarray(units_t.spike_times.data[:], float)
    ends = np.asarray(units_t.spike_times_index.data[:], np.int64)
    n_units = len(ends)
    unit_of = np.repeat(np.arange(n_units), np.diff(np.concatenate([[0], ends])))
    trials_t = nwb.trials
    if trials_t is None or len(trials_t) == 0:
        last = flat_s.max() if flat_s.size else 0.0
        starts_s, stops_s = np.zeros(1), np.array([np.nextafter(last, np.inf) if last > 0 else 1.0])
    else:
        starts_s = np.asarray(trials_t["start_time"].data[:], float)
        stops_s = np.asarray(trials_t["stop_time"].data[:], float)
    starts_s, stops_s = _fill_stops(starts_s, stops_s, path)
    starts_ms, stops_ms = ms_from_s(starts_s), ms_from_s(stops_s)
    r = np.searchsorted(starts_s, flat_s, side="right") - 1
    inside = (r >= 0) & (flat_s < stops_s[np.maximum(r, 0)])
    times_ms = ms_from_s(flat_s[inside]) - starts_ms[r[inside]]
    durations = stops_ms - starts_ms
    dur = float(notes["trial_duration_ms"]) if notes else float(durations.max())
    meta = notes["meta"] if notes else {"source": str(path), "identifier": str(nwb.identifier),
                                        "session_description": str(nwb.session_description),
                                        "session_start_time": nwb.session_start_time.isoformat(),
                                        "related_publications": [str(p) for p in (nwb.related_publications or ())]}
    meta = dict(meta)
    if not notes:  # a file of ours keeps its provenance unchanged
        meta["n_spikes_outside_trials"] = int((~inside).sum())
        meta["file_origin"] = str(path)
    units = _units(units_t, n_units, notes, population_column)
    trials = _trials(trials_t, len(starts_s), notes, label_column, durations, dur, starts_ms)
    times_ms = np.clip(times_ms, 0.0, np.nextafter(dur, 0))  # one-ulp rounding at the trial end
    ev = _events(nwb, starts_s, stops_s, starts_ms) if events else {}
    return SpikeRecord(times_ms, unit_of[inside], r[inside], units, trials, dur, meta, ev)


def _our_notes(notes):
    try:
        d = json.loads(notes) if notes else None
    except (TypeError, ValueError):
        return None
    return d if isinstance(d, dict) and d.get("synsem_layout") == L.LAYOUT else None


def _fill_stops(starts, stops, path):
    if starts.size > 1 and np.any(np.diff(starts) <= 0):
        raise input_error("trials.start_time", "strictly increasing start times", f"unsorted times in {path}",
                          cls=DataFormatError)
    stops = stops.copy()
    missing = ~np.isfinite(stops)
    nxt = np.append(starts[1:], np.nan)
    stops[missing] = nxt[missing]
    if not np.isfinite(stops[-1]):
        other = stops[:-1] - starts[:-1]
        stops[-1] = starts[-1] + (other.max() if other.size else 1.0)
    if np.any(stops <= starts):
        raise input_error("trials.stop_time", "stop_time > start_time", f"{int(np.sum(stops <= starts))} bad trials in {path}",
                          cls=DataFormatError)
    if np.any(stops[:-1] > starts[1:]):
        raise input_error("trials", "non-overlapping trials", f"{int(np.sum(stops[:-1] > starts[1:]))} overlaps in {path}",
                          "Spikes would belong to two trials; cut the trials first.", cls=DataFormatError)
    return starts, stops


def _column(table, name):
    """A scalar column as a numpy array (strings decoded), or None for ragged/region columns."""
    col = table[name]
    if type(col).__name__ in ("VectorIndex", "DynamicTableRegion") or f"{name}_index" in table.colnames:
        return None
    data = col.data[:]
    arr = np.asarray(data)
    if arr.ndim != 1:
        return None
    if arr.dtype.kind in "OS":
        arr = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in data.tolist()], dtype=str)
    return arr


def _units(table, n_units, notes, population_column):
    names = [c for c in table.colnames if c not in ("spike_times", "electrodes", "obs_intervals", "waveform_mean",
                                                     "waveform_sd", "waveforms")]
    cols = {c: _column(table, c) for c in names}
    cols = {c: v for c, v in cols.items() if v is not None}
    ids = np.asarray(table.id[:], np.int64)
    if notes:
        return UnitTable(*(cols[_COL.get(c, c)] for c in _OURS), columns={c: cols[c] for c in notes["unit_columns"]})
    pop = np.full(n_units, "units") if population_column is None else cols[population_column].astype(str)
    extra = {("source_" + c if c in _OURS else c): v for c, v in cols.items()}
    extra["unit_id"] = ids
    return UnitTable(name=[f"unit{i}" for i in ids], population=pop, layer=np.full(n_units, -1),
                     cell_type=np.full(n_units, "unknown"), index_in_population=np.arange(n_units),
                     channel_id=ids, columns=extra)


def _trials(table, n, notes, label_column, durations, dur, starts_ms):
    cols = {}
    if table is not None and len(table):
        for c in table.colnames:
            if c in ("start_time", "stop_time"):
                continue
            v = _column(table, c)
            if v is not None:
                cols[c] = v
    if notes:
        return TrialTable(cols["label"], cols["prediction"], cols["decision_time_ms"],
                          {c: cols[c] for c in notes["trial_columns"]}, tuple(notes["label_names"]))
    label, names = np.full(n, -1), ()
    if label_column is not None:
        if label_column not in cols:
            raise input_error("label_column", f"a trials column among {sorted(cols)}", repr(label_column))
        names, label = np.unique(cols[label_column].astype(str), return_inverse=True)
        names = tuple(names.tolist())
    cols["duration_ms"] = durations
    cols["source_start_ms"] = starts_ms
    return TrialTable(label, columns=cols, label_names=names)


def _events(nwb, starts_s, stops_s, starts_ms):
    import pynwb

    out = {}
    for obj in nwb.acquisition.values():
        series = obj.time_series.values() if hasattr(obj, "time_series") else [obj]
        for ts in series:
            if not isinstance(ts, pynwb.TimeSeries) or ts.timestamps is None:
                continue
            t = np.asarray(ts.timestamps[:], float)
            r = np.searchsorted(starts_s, t, side="right") - 1
            ok = (r >= 0) & (t < stops_s[np.maximum(r, 0)])
            out[ts.name] = EventTimes(ms_from_s(t[ok]) - starts_ms[r[ok]], r[ok])
    return out
