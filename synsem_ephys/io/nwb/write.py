"""Writing NWB files.

Writing (:func:`write_nwb`)
---------------------------
The Units table holds each unit's spike times in seconds on the recording's own clock when it has one
(trial ``r`` starts at the trial column ``source_start_ms``) or with trials end to end (``offset_r =
r * (trial_duration_ms + gap_ms)``); columns name (as ``unit_name``), population, layer, cell_type,
index_in_population, channel_id and the extra unit columns. The record's trials become a TimeIntervals table
(``trials``, or the table they were read from) with the trial fields and columns; events become
``EventsTable`` s in ``/events``; provenance is JSON in ``notes``. A second-by-second clock cannot
reproduce trial-relative milliseconds exactly (``(offset + t) / 1000 * 1000 - offset`` moves a spike by
~1e-13 ms), so the record's own numbers are stored too, as the ragged Units columns
:data:`EXACT_TRIAL` and :data:`EXACT_TIME` (and the same two columns in each EventsTable):
:func:`read_nwb` prefers them for files of this package, which therefore round-trip bit-exactly.
Signals become TimeSeries / SpatialSeries on the same clock, with their exact trial pieces in
``processing/synsem_ephys/signal_pieces`` (:mod:`synsem_ephys.io.nwb.signals`).
Writes are atomic, in a forked child process where the platform allows it (HDF5 cannot survive a full disk
in its own process: :func:`synsem_ephys._files.write_path_atomic`), and the file's ``notes`` hold the
record's :func:`~synsem_ephys.io.layout.record_checksum`, which :func:`read_nwb` checks.
"""

import datetime
import json
import uuid

import numpy as np

from ..._files import existing_file, write_path_atomic
from ...errors import input_error
from ...optional import require
from ...record import SpikeRecord
from ...units import s_from_ms
from .. import layout as L
from .signals import add_to_file, write_signals
from ._common import EXACT_TIME, EXACT_TRIAL, FILE_FIELDS, NWB_LAYOUT, _SPEC_COLUMNS, _TRIAL_DESCRIPTIONS, _UNIT_DESCRIPTIONS, _UNIT_FIELD_COLUMN, _events_table_class

def write_nwb(record, path, *, subject=None, session_start_time=None, identifier=None, session_description=None,
              resolution_s=None, clock=None, gap_ms=None, **file_fields):
    """Write a SpikeRecord to an NWB file at ``path`` (atomic).

    Parameters
    ----------
    record : SpikeRecord
    path : str or Path
    subject : pynwb.file.Subject or dict, optional
        The subject (a dict holds Subject's arguments, ``date_of_birth`` as datetime or ISO string).
        Default: ``record.meta['subject']`` (kept from a source NWB file), else none.
    session_start_time : datetime.datetime, optional
        Default: ``record.meta['session_start_time']``, else ``meta['rec_datetime']``, else now (UTC);
        a naive datetime is taken as UTC.
    identifier, session_description : str, optional
        Default: the source file's (``record.meta``), else a new UUID / ``meta['description']``.
    resolution_s : float, optional
        The Units table's ``resolution`` (smallest possible difference between two spike times, s).
        Default: ``meta['units_resolution_s']`` (from a source NWB file); for records of the exact
        simulator (``meta['source']`` ``synsem_ephys.sim``) the float64 spacing of the latest spike time
        written; else unset.
    clock : {None, "source", "end_to_end"}
        Session clock of the trials. ``"source"``: trial ``r`` starts at ``source_start_ms[r]`` (the trial
        column); ``"end_to_end"``: trials laid end to end with ``gap_ms`` between them. None: ``"source"``
        when the record has the column and came from an NWB file or its trials do not overlap on it.
    gap_ms : float, optional
        Silence between trials laid end to end (default :func:`synsem_ephys.io.layout.default_gap_ms`).
    **file_fields
        Other NWBFile fields (:data:`FILE_FIELDS`: ``experimenter``, ``institution``, ``keywords`` ...);
        default: the source file's, from ``record.meta``.

    Returns
    -------
    Path
    """
    require("pynwb", "writing NWB files")
    import pynwb

    if not isinstance(record, SpikeRecord):
        raise input_error("record", "a synsem_ephys.record.SpikeRecord", type(record).__name__)
    meta = json.loads(L.meta_json(record.meta))  # refuses a meta JSON cannot hold, before any file exists
    bad = sorted(set(file_fields) - set(FILE_FIELDS[4:]))
    if bad:
        raise input_error("file_fields", f"NWBFile fields among {list(FILE_FIELDS[4:])}", bad)
    starts, used_clock, gap = _clock(record, clock, gap_ms)
    durations = np.asarray(record.trials.columns.get("duration_ms", np.full(record.n_trials, record.trial_duration_ms)),
                           float)
    overlap = _overlapping(starts, starts + durations)
    descr = dict(meta.get("descriptions") or {})
    notes = dict(synsem_layout=L.LAYOUT, nwb_layout=NWB_LAYOUT, trial_duration_ms=record.trial_duration_ms, gap_ms=gap,
                 clock=used_clock, label_names=list(record.trials.label_names))
    units, notes["unit_fields"], notes["unit_columns"] = _write_units(record, starts, overlap, descr, resolution_s, meta)
    trials, notes["trial_fields"], notes["trial_columns"] = _write_trials(record, starts, durations, descr, meta)
    notes["trials_table"] = f"intervals/{trials.name}"
    event_tables, notes["events"] = _write_events(record, starts, overlap, descr)
    sig_series, sig_table, sig_notes = write_signals(record, starts, overlap, _nwb_name)
    if sig_notes:  # only a record with signals: the notes of any other record stay as they were
        notes["signals"] = sig_notes
    notes["meta"] = meta
    notes[L.PAYLOAD_CHECKSUM] = L.record_checksum(record)
    kwargs = {f: meta[f] for f in FILE_FIELDS[4:] if meta.get(f) not in (None, "", [])}
    kwargs.update({k: v for k, v in file_fields.items() if v is not None})
    start = _datetime(session_start_time, "session_start_time") or _datetime(
        meta.get("session_start_time") or meta.get("rec_datetime"), "record.meta['session_start_time']") \
        or datetime.datetime.now(datetime.timezone.utc)
    ref = _datetime(meta.get("timestamps_reference_time"), "record.meta['timestamps_reference_time']")
    if session_description is None:
        session_description = meta.get("session_description", meta.get("description", "synsem_ephys recording"))
    nwb = pynwb.NWBFile(session_description=str(session_description),
                        identifier=str(identifier or meta.get("identifier") or uuid.uuid4()),
                        session_start_time=start, timestamps_reference_time=ref, notes=json.dumps(notes), units=units,
                        subject=_subject(subject if subject is not None else meta.get("subject")), **kwargs)
    if trials.name == "trials":
        nwb.trials = trials
    elif trials.name == "epochs":
        nwb.epochs = trials
    else:
        nwb.add_time_intervals(trials)
    for table in event_tables:
        nwb.add_events_table(table)
    add_to_file(nwb, sig_series, starts, sig_table, notes)
    write_path_atomic(path, lambda tmp: _write_file(nwb, tmp), suffix=".nwb")
    return existing_file(path, "NWB")


def _write_file(nwb, tmp):
    """Runs in the forked child of write_path_atomic: HDF5 cannot survive a full disk in its process."""
    import pynwb

    with pynwb.NWBHDF5IO(str(tmp), "w") as io:
        io.write(nwb)


def _clock(record, clock, gap_ms):
    """Start of each trial on the file's clock (ms), the clock's name and the gap (end to end)."""
    dur = record.trial_duration_ms
    gap = L.default_gap_ms(dur) if gap_ms is None else float(gap_ms)
    if not (np.isfinite(gap) and gap >= 0):
        raise input_error("gap_ms", "a finite float >= 0", gap_ms)
    if clock not in (None, "source", "end_to_end"):
        raise input_error("clock", "None, 'source' or 'end_to_end'", repr(clock))
    src = record.trials.columns.get("source_start_ms")
    ok = src is not None and src.dtype.kind in "iuf" and bool(np.all(np.isfinite(src)))
    if clock == "source" and not ok:
        raise input_error("clock", "a record with a finite trial column 'source_start_ms' for clock='source'",
                          "no such column" if src is None else "non-finite or non-numeric values",
                          "Use clock='end_to_end'.")
    if clock is None and ok:
        d = np.asarray(record.trials.columns.get("duration_ms", np.full(record.n_trials, dur)), float)
        ok = record.meta.get("source_format") == "NWB" or not _overlapping(np.asarray(src, float), src + d)
    if clock == "source" or (clock is None and ok):
        return np.asarray(src, float), "source", gap
    return L.trial_offsets_ms(record.n_trials, dur, gap), "end_to_end", gap


def _overlapping(starts, stops):
    order = np.argsort(starts, kind="stable")
    return bool(np.any(np.maximum.accumulate(stops[order])[:-1] > starts[order][1:]))


def _distinct(key, t_ms, trial, overlap):
    """Order of occurrences by (key, time) and a group id per occurrence: occurrences of one key in
    different trials whose session times agree to 4 ulps are one spike / event seen by overlapping trials."""
    order = np.lexsort((t_ms, key))
    k, ts, rs = key[order], t_ms[order], trial[order]
    if not overlap or ts.size < 2:
        return order, np.arange(ts.size)
    same = (k[1:] == k[:-1]) & (rs[1:] != rs[:-1]) & (ts[1:] - ts[:-1] <= 4 * np.spacing(np.abs(ts[1:])))
    return order, np.concatenate([[0], np.cumsum(~same)])


def _safe_names(names, kind, taken=()):
    """NWB column name of each record column: NWB's own columns and the table class's attributes renamed."""
    cls = _table_class(kind)
    out, used = {}, set(taken)
    for c in names:
        n = c
        if n in _SPEC_COLUMNS[kind] or n in used or n == "id" or hasattr(cls, n):
            n = "electrode_group_name" if c == "electrode_group" else f"column_{c}"
        while n in used or n in _SPEC_COLUMNS[kind] or hasattr(cls, n):
            n = f"column_{n}"
        out[c] = n
        used.add(n)
    return out


def _table_class(kind):
    from pynwb.epoch import TimeIntervals
    from pynwb.misc import Units

    return {"Units": Units, "TimeIntervals": TimeIntervals}[kind]


def _vector(name, values, description):
    from hdmf.common import VectorData

    v = np.asarray(values)
    if v.dtype.kind in "US":  # hdmf writes str lists; an empty one needs a dtype it can infer: variable-length str
        return VectorData(name=name, description=description, data=v.tolist() if v.size else np.zeros(0, dtype=_h5_str()))
    return VectorData(name=name, description=description, data=v)


def _h5_str():
    import h5py

    return h5py.string_dtype("utf-8")


def _ragged(name, values, ends, description):
    from hdmf.common import VectorIndex

    data = _vector(name, values, description)
    return [data, VectorIndex(name=f"{name}_index", data=np.asarray(ends, np.int64), target=data)]


def _write_units(record, starts, overlap, descr, resolution_s, meta):
    from pynwb.misc import Units

    units, n = record.units, record.n_units
    order = record.order_by_unit()
    u, r, t = record.unit_index[order], record.trial_index[order], record.times_ms[order]
    ends = np.searchsorted(u, np.arange(1, n + 1))
    session_ms = starts[r] + t
    o2, group = _distinct(u, session_ms, r, overlap)
    first = np.concatenate([[True], group[1:] != group[:-1]]) if group.size else np.zeros(0, bool)
    uniq_u, uniq_s = u[o2][first], s_from_ms(session_ms[o2][first])
    cols = _ragged("spike_times", uniq_s, np.searchsorted(uniq_u, np.arange(1, n + 1)),
                   descr.get("units.spike_times", "spike times (s) on the session clock"))
    cols += _ragged(EXACT_TRIAL, r, ends, "synsem_ephys: the record's trial of each spike (row of the trials table); "
                                          "a spike inside several overlapping trials is listed once per trial")
    cols += _ragged(EXACT_TIME, t, ends, "synsem_ephys: the record's spike times from the start of their trial (ms), "
                                         "exactly as in the record")
    fields = {f: _UNIT_FIELD_COLUMN.get(f, f) for f in L.UNIT_FIELDS}
    extra = _safe_names(units.columns, "Units", taken=fields.values())
    for f, name in fields.items():
        cols.append(_vector(name, getattr(units, f), descr.get(f"units.{f}", _UNIT_DESCRIPTIONS[f])))
    for c, name in extra.items():
        cols.append(_vector(name, units.columns[c], descr.get(f"units.{c}", f"unit column {c}")))
    ids = units.columns.get("unit_id")
    ids = ids if ids is not None and ids.dtype.kind in "iu" and np.unique(ids).size == n else np.arange(n)
    if resolution_s is None:
        resolution_s = meta.get("units_resolution_s")
        if resolution_s is None and str(meta.get("source", "")).startswith("synsem_ephys.sim") and uniq_s.size:
            resolution_s = float(np.spacing(np.abs(uniq_s).max()))
    elif not (isinstance(resolution_s, (int, float, np.floating)) and np.isfinite(resolution_s) and resolution_s > 0):
        raise input_error("resolution_s", "a finite float > 0 (seconds)", resolution_s)
    table = Units(name="units", id=np.asarray(ids, np.int64), columns=cols,
                  description=descr.get("units", "synsem_ephys units"),
                  resolution=None if resolution_s is None else float(resolution_s))
    return table, fields, extra


def _write_trials(record, starts, durations, descr, meta):
    from pynwb.epoch import TimeIntervals

    tr = record.trials
    fields = {}
    if np.any(tr.label >= 0) or tr.label_names:
        fields.update(label=tr.label, label_name=L.label_strings(tr))
    if np.any(tr.prediction >= 0):
        fields["prediction"] = tr.prediction
    if np.any(np.isfinite(tr.decision_time_ms)):
        fields["decision_time_ms"] = tr.decision_time_ms
    names = _safe_names(tr.columns, "TimeIntervals", taken=fields)
    cols = [_vector("start_time", s_from_ms(starts), "start of the trial (s)"),
            _vector("stop_time", s_from_ms(starts + durations), "end of the trial (s)")]
    cols += [_vector(f, v, _TRIAL_DESCRIPTIONS[f]) for f, v in fields.items()]
    cols += [_vector(n, tr.columns[c], descr.get(f"trials.{c}", _TRIAL_DESCRIPTIONS.get(c, f"trial column {c}")))
             for c, n in names.items()]
    source = meta.get("trials_source")
    if source == "session":
        name = "session"
    elif source == "align" and isinstance(meta.get("align"), str):
        name = _nwb_name(meta["align"]) + "_windows"
    else:
        name = _nwb_name(meta.get("trials_table") or "trials")
    table = TimeIntervals(name=name, description=descr.get("trials", "synsem_ephys trials"),
                          id=np.arange(record.n_trials), columns=cols)
    return table, sorted(fields), names


def _write_events(record, starts, overlap, descr):
    from hdmf.common import VectorIndex

    tables, names = [], {}
    if not record.events:
        return tables, names
    if _events_table_class() is None:
        import pynwb

        raise input_error("record.events", "a pynwb with NWB 2.10's EventsTable to write events",
                          f"pynwb {pynwb.__version__}", "pip install -U pynwb", cls=ImportError)
    from pynwb.event import EventsTable, TimestampVectorData

    for kind, ev in record.events.items():
        r, t = ev.trial_index, ev.times_ms
        session_ms = starts[r] + t
        order, group = _distinct(np.zeros(r.size, np.int64), session_ms, r, overlap)
        first = np.concatenate([[True], group[1:] != group[:-1]]) if group.size else np.zeros(0, bool)
        ends = np.searchsorted(group, np.arange(1, int(first.sum()) + 1))
        ts = TimestampVectorData(name="timestamp", description="time of the event (s) on the session clock",
                                 data=s_from_ms(session_ms[order][first]))
        trial = _vector(EXACT_TRIAL, r[order], "synsem_ephys: the record's trial(s) holding the event")
        time = _vector(EXACT_TIME, t[order], "synsem_ephys: time of the event from the start of each of its trials "
                                             "(ms), exactly as in the record")
        cols = [ts, trial, VectorIndex(name=f"{EXACT_TRIAL}_index", data=ends, target=trial),
                time, VectorIndex(name=f"{EXACT_TIME}_index", data=ends, target=time)]
        name = _nwb_name(kind, taken=names.values())
        names[kind] = f"events/{name}"
        tables.append(EventsTable(name=name, description=descr.get(f"events.{kind}", f"synsem_ephys events {kind}"),
                                  columns=cols, id=np.arange(int(first.sum()))))
    return tables, names


def _nwb_name(name, taken=()):
    n = str(name).strip("/").split("/")[-1].replace(":", "_") or "unnamed"
    while n in taken:
        n += "_"
    return n


def _datetime(value, argument):
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError as exc:
            raise input_error(argument, "an ISO 8601 date and time", repr(value)) from exc
    if not isinstance(value, datetime.datetime):
        raise input_error(argument, "a datetime.datetime or ISO string", type(value).__name__)
    return value if value.tzinfo is not None else value.replace(tzinfo=datetime.timezone.utc)


def _subject(subject):
    from pynwb.file import Subject

    if subject is None or isinstance(subject, Subject):
        return subject
    if not isinstance(subject, dict):
        raise input_error("subject", "a pynwb.file.Subject or a dict of its arguments", type(subject).__name__)
    kw = {k: v for k, v in subject.items() if v is not None}
    if "date_of_birth" in kw:
        kw["date_of_birth"] = _datetime(kw["date_of_birth"], "subject['date_of_birth']")
    try:
        return Subject(**kw)
    except (TypeError, ValueError) as exc:
        raise input_error("subject", "arguments of pynwb.file.Subject (subject_id, species, sex, age, ...)",
                          sorted(kw), str(exc)) from exc


# ====================================================================== reading
