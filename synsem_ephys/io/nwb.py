"""NWB files through pynwb directly (neo's NWBIO drops annotations and fails on third-party files).

Reading any NWB file (:func:`read_nwb`)
---------------------------------------
Spikes come from a ``Units`` table (``nwb.units``, or any Units table by ``units=``). Trials are windows
``[start_r, stop_r)`` on the file's clock, from one of:

- a ``TimeIntervals`` table (``trials=None`` takes ``nwb.trials`` when present; ``"trials"``, ``"epochs"``
  or any other name / path of a TimeIntervals table); a missing ``stop_time`` (NaN) ends where the next
  interval (by start time) starts, the last then lasts as long as the longest other;
- event-aligned windows ``[t_e - pre, t_e + post)`` (``align=NAME, window_ms=(pre, post)``) around the
  start times of a TimeIntervals table, the ``timestamp`` of an ``EventsTable`` or the timestamps of any
  ``TimeSeries`` (ripples, stimulus onsets, licks, in acquisition or processing modules);
- nothing (no trials table, or ``trials=False``): one trial spanning the session, from
  ``min(0, earliest time in the file)`` to the end of the last spike, interval or time series.

Spike ``s`` (time ``t_s`` seconds) belongs to every window with ``start_r <= 1000 t_s < stop_r`` (ms);
its trial-relative time is ``1000 t_s - start_r`` ms. Windows may overlap: a spike inside two windows
appears in both trials. Nothing is dropped silently: ``meta['n_spikes_outside_trials']`` counts spikes
in no window, ``meta['n_spikes_in_several_trials']`` those in more than one, and
``meta['n_events_outside_trials']`` the events in no window. Scalar Units / trials columns become
unit / trial columns (``electrode_group`` as its name); ragged, reference and multi-dimensional columns
are skipped and listed with the reason in ``meta['skipped_unit_columns']`` / ``['skipped_trial_columns']``.
The file's metadata (identifier, session start, subject, ...: :data:`FILE_FIELDS`) and the descriptions of
its tables and columns are kept in ``meta``, so that :func:`write_nwb` can write them back.

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
Writes are atomic.
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

__all__ = ["write_nwb", "read_nwb", "LABEL_COLUMNS", "POPULATION_COLUMNS", "FILE_FIELDS", "NWB_LAYOUT",
           "EXACT_TRIAL", "EXACT_TIME"]

#: Trials columns tried, in order, as the class label when ``label_column="auto"``.
LABEL_COLUMNS = ("type", "trial_type", "condition", "stimulus", "label")
#: Units columns tried, in order, as the population when ``population_column="auto"``.
POPULATION_COLUMNS = ("cell_type",)
#: NWBFile fields kept in ``record.meta`` on reading (same keys) and written back by :func:`write_nwb`.
FILE_FIELDS = ("identifier", "session_description", "session_start_time", "timestamps_reference_time",
               "experimenter", "experiment_description", "institution", "lab", "keywords",
               "related_publications", "session_id", "protocol", "data_collection", "surgery", "pharmacology",
               "virus", "stimulus_notes", "slices", "source_script")
#: Version tag of this NWB layout, in the notes next to :data:`synsem_ephys.io.layout.LAYOUT`.
NWB_LAYOUT = "synsem_ephys.nwb.v2"
#: Ragged columns (Units and EventsTables) holding the record's trial index and trial-relative time (ms).
EXACT_TRIAL, EXACT_TIME = "trial_index", "time_in_trial_ms"

_UNIT_FIELD_COLUMN = {"name": "unit_name"}  # "name" is an attribute of the pynwb Units table
_SPEC_COLUMNS = {"Units": {"spike_times", "obs_intervals", "electrodes", "electrode_group", "waveform_mean",
                           "waveform_sd", "waveforms", EXACT_TRIAL, EXACT_TIME},
                 "TimeIntervals": {"start_time", "stop_time", "tags", "timeseries"},
                 "EventsTable": {"timestamp", "duration", "annotation", EXACT_TRIAL, EXACT_TIME}}
_ROOT_GROUPS = ("acquisition", "processing", "intervals", "events", "stimulus", "analysis", "scratch")
_UNIT_DESCRIPTIONS = {
    "name": "unit name (unique)", "population": "population the unit belongs to",
    "layer": "network layer (0 = input; -1 = not applicable)",
    "cell_type": "cell type: E, I, input, output, hidden or unknown",
    "index_in_population": "position of the unit inside its population (PyNN's source_index)",
    "channel_id": "recording channel (-1 = none)"}
_TRIAL_DESCRIPTIONS = {
    "label": "class label of the trial (index into label_names; -1 = none)",
    "label_name": "class name of the trial ('' = none)", "prediction": "class predicted by the network (-1 = none)",
    "decision_time_ms": "time of the decision (earliest output spike) from trial start, ms (inf = none)",
    "duration_ms": "length of the trial, ms", "source_start_ms": "start of the trial on the source clock, ms",
    "stimulus_onset_ms": "stimulus onset from trial start, ms (NaN = none)",
    "align_ms": "time of the aligning event from the start of the window, ms",
    "source_row": "row of the aligning event in its source table or series"}


# ====================================================================== writing
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
    notes["meta"] = meta
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
    with atomic_path(path, ".nwb") as tmp:
        with pynwb.NWBHDF5IO(tmp, "w") as io:
            io.write(nwb)
    return existing_file(path, "NWB")


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
    return VectorData(name=name, description=description, data=v.tolist() if v.dtype.kind in "US" else v)


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
def read_nwb(path, *, label_column=None, population_column=None, events=True, trials=None, align=None,
             window_ms=None, units=None):
    """Read an NWB file (written by :func:`write_nwb` or third-party) into a SpikeRecord.

    Parameters
    ----------
    path : str or Path or pynwb.NWBFile
        The file, or an NWBFile already open (e.g. streamed from DANDI), which is left open.
    label_column : str or None or "auto"
        Column of the trials' source table (or ``"tags"``; ``"data"`` for a TimeSeries given as ``align``)
        whose categories become class labels (sorted; names in ``label_names``); ``"auto"`` takes the
        first of :data:`LABEL_COLUMNS` present, None none. Ignored for files written by synsem_ephys,
        whose labels are restored exactly.
    population_column : str or None or "auto"
        Units column giving each unit's population (None: all units in population "units"); ``"auto"``
        takes the first of :data:`POPULATION_COLUMNS` present. ``"electrode_group"`` gives the group's name.
    events : bool or list of str
        Event series read as record events: True = every EventsTable, every TimeSeries in a
        BehavioralEvents container, every AnnotationSeries and every plain TimeSeries with timestamps in
        acquisition or a processing module; a list = those names or paths.
    trials : None, False or str
        The TimeIntervals table giving the trials (name or path: ``"trials"``, ``"epochs"``, ...). None:
        ``nwb.trials`` if present, else one trial spanning the session; False: one trial spanning the session.
    align : str, optional
        Name or path of a TimeIntervals table (aligned to ``start_time``), an EventsTable (``timestamp``)
        or a TimeSeries (its timestamps): one trial per event, the window ``window_ms`` around it.
    window_ms : (float, float), optional
        ``(pre, post)``, both >= 0 ms: the window ``[t_event - pre, t_event + post)``; required with ``align``.
    units : str, optional
        Name or path of the Units table (default ``nwb.units``, else the only Units table of the file).

    Returns
    -------
    SpikeRecord
        Trial columns of the source table as they are (seconds where the file uses seconds) plus
        ``source_start_ms`` (window start on the file's clock) and ``duration_ms`` (trials) or
        ``align_ms`` and ``source_row`` (aligned windows); unit columns kept (``cell_type`` as
        ``source_cell_type``, ``unit_id`` the table's ids).

    Raises
    ------
    DataMissingError, DataFormatError, ValueError
    """
    require("pynwb", "reading NWB files")
    import pynwb

    _check_options(label_column, population_column, events, trials, align, window_ms, units)
    options = (label_column, population_column, events, trials, align, window_ms, units)
    if isinstance(path, pynwb.NWBFile):
        return _read_file(path, path.container_source or path.identifier, *options)
    path = existing_file(path, "NWB")
    try:
        io = pynwb.NWBHDF5IO(str(path), "r", load_namespaces=True)
        nwb = io.read()
    except Exception as exc:  # h5py OSError for non-HDF5/truncated files, hdmf errors for non-NWB HDF5
        raise input_error("path", "an NWB (HDF5) file", f"{path} ({type(exc).__name__}: {exc})",
                          "Check the file is complete and really NWB.", cls=DataFormatError) from exc
    try:
        return _read_file(nwb, path, *options)
    finally:
        io.close()


def _read_file(nwb, path, label_column, population_column, events, trials, align, window_ms, units):
    notes = _our_notes(nwb.notes)
    if notes and notes.get("nwb_layout") == NWB_LAYOUT and trials is None and align is None and units is None:
        return _read_ours(nwb, path, notes, events)
    return _read(nwb, path, notes, label_column, population_column, events, trials, align, window_ms, units)


def _check_options(label_column, population_column, events, trials, align, window_ms, units):
    for name, v in (("label_column", label_column), ("population_column", population_column), ("align", align),
                    ("units", units)):
        if v is not None and not (isinstance(v, str) and v):
            raise input_error(name, "None or a non-empty str", repr(v))
    if not (trials is None or trials is False or (isinstance(trials, str) and trials)):
        raise input_error("trials", "None, False or the name of a TimeIntervals table", repr(trials))
    if not (isinstance(events, bool) or (isinstance(events, (list, tuple)) and all(isinstance(e, str) for e in events))):
        raise input_error("events", "True, False or a list of event series names", repr(events))
    if align is not None and trials is not None:
        raise input_error("trials", "None when align is given (the aligned windows are the trials)", repr(trials))
    if (align is None) != (window_ms is None):
        raise input_error("window_ms" if align is not None else "align",
                          "window_ms=(pre, post) together with align=NAME", f"align={align!r}, window_ms={window_ms!r}")
    if window_ms is not None:
        try:
            pre, post = (float(x) for x in window_ms)
        except (TypeError, ValueError) as exc:
            raise input_error("window_ms", "a pair (pre, post) of floats in ms", repr(window_ms)) from exc
        if not (np.isfinite(pre) and np.isfinite(post) and pre >= 0 and post >= 0 and pre + post > 0):
            raise input_error("window_ms", "(pre, post) >= 0 ms with pre + post > 0 (window [t - pre, t + post))",
                              repr(window_ms), "E.g. (100.0, 500.0): 100 ms before to 500 ms after each event.")


def _our_notes(notes):
    try:
        d = json.loads(notes) if notes else None
    except (TypeError, ValueError):
        return None
    return d if isinstance(d, dict) and d.get("synsem_layout") == L.LAYOUT else None


# ---------------------------------------------------------------------- files of ours
def _read_ours(nwb, path, notes, events):
    table = nwb.units
    t_ms, ends = _ragged_values(table, EXACT_TIME)
    trial = _ragged_values(table, EXACT_TRIAL)[0].astype(np.int64)
    unit_of = np.repeat(np.arange(len(ends)), np.diff(np.concatenate([[0], ends])))
    cols = {name: _column_values(table, name) for name in list(notes["unit_fields"].values()) + list(
        notes["unit_columns"].values())}
    units = UnitTable(*(cols[notes["unit_fields"][f]] for f in L.UNIT_FIELDS),
                      columns={c: cols[n] for c, n in notes["unit_columns"].items()})
    tt = _find(nwb, notes["trials_table"], ("TimeIntervals",), "trials")[1]
    n = len(tt)
    get = {f: _column_values(tt, f) for f in notes["trial_fields"]}
    trials = TrialTable(get.get("label", np.full(n, -1)), get.get("prediction"), get.get("decision_time_ms"),
                        {c: _column_values(tt, name) for c, name in notes["trial_columns"].items()},
                        tuple(notes["label_names"]))
    ev = {}
    for kind, where in notes.get("events", {}).items():
        if events is True or (events and kind in events):
            et = _find(nwb, where, ("EventsTable",), "events")[1]
            ev[kind] = EventTimes(_ragged_values(et, EXACT_TIME)[0], _ragged_values(et, EXACT_TRIAL)[0].astype(np.int64))
    return SpikeRecord(t_ms, unit_of, trial, units, trials, float(notes["trial_duration_ms"]), notes["meta"], ev)


def _ragged_values(table, name):
    idx = table[name]
    return np.asarray(idx.target.data[:]), np.asarray(idx.data[:], np.int64)


def _column_values(table, name):
    arr, why = _scalar(table[name], name)
    if arr is None:
        raise input_error(f"{table.name}.{name}", "a scalar column written by synsem_ephys", why, cls=DataFormatError)
    return arr


# ---------------------------------------------------------------------- any file
def _read(nwb, path, notes, label_column, population_column, events, trials, align, window_ms, units):
    upath, utab = _units_table(nwb, units)
    flat_s = np.asarray(utab["spike_times"].target.data[:], float)
    ends = np.asarray(utab["spike_times"].data[:], np.int64)
    unit_of = np.repeat(np.arange(len(ends)), np.diff(np.concatenate([[0], ends])))
    ucols, uskipped = _table_columns(utab, skip=("spike_times",))
    descr = {"units": str(utab.description or "")}
    descr.update({f"units.{c}": d for c, d in _descriptions(utab).items()})
    win = _windows(nwb, flat_s, trials, align, window_ms, label_column, notes)
    descr.update({(f"trials.{k}" if k else "trials"): v for k, v in win["descriptions"].items()})
    occ, rr, outside, several = _occurrences(ms_from_s(flat_s), win["start_ms"], win["stop_ms"])
    times = ms_from_s(flat_s[occ]) - win["start_ms"][rr]
    times = np.minimum(times, np.nextafter(win["duration_ms"][rr], 0))  # a one-ulp rounding at the window end
    if notes:  # a file of an earlier version of this package
        units_t = UnitTable(*(ucols[_UNIT_FIELD_COLUMN.get(c, c)] for c in L.UNIT_FIELDS),
                            columns={c: ucols[c] for c in notes["unit_columns"]})
    else:
        units_t = _units(utab, ucols, uskipped, population_column)
    meta = dict(notes["meta"]) if notes else _file_meta(nwb, path)
    ev, ev_meta = _events(nwb, events, win, descr) if events else ({}, {})
    if not notes:
        meta.update(units_table=upath, trials_source=win["source"], n_spikes_outside_trials=outside,
                    n_spikes_in_several_trials=several, skipped_unit_columns=uskipped,
                    skipped_trial_columns=win["skipped"], descriptions=descr, **win["meta"], **ev_meta)
        if utab.resolution is not None and np.isfinite(utab.resolution) and utab.resolution > 0:
            meta["units_resolution_s"] = float(utab.resolution)
    return SpikeRecord(times, unit_of[occ], rr, units_t, win["trials"], win["trial_duration_ms"], meta, ev)


def _file_meta(nwb, path):
    meta = {"source": str(path), "source_format": "NWB", "file_origin": str(path)}
    for f in FILE_FIELDS:
        v = getattr(nwb, f, None)
        if v is None:
            continue
        if isinstance(v, datetime.datetime):
            v = v.isoformat()
        elif not isinstance(v, str):
            v = [str(x.decode() if isinstance(x, bytes) else x) for x in np.asarray(v[:], dtype=object).tolist()]
        meta[f] = v
    if nwb.subject is not None:
        s = nwb.subject
        fields = ("subject_id", "species", "sex", "age", "age__reference", "genotype", "description", "strain",
                  "weight", "date_of_birth")
        sub = {f: getattr(s, f, None) for f in fields}
        meta["subject"] = {f: (v.isoformat() if isinstance(v, datetime.datetime) else v) for f, v in sub.items()
                           if v is not None and not (f == "age__reference" and v == "birth")}
    return meta


def _units(table, cols, skipped, population_column):
    n = len(table)
    ids = np.asarray(table.id[:], np.int64)
    if population_column == "auto":
        population_column = next((c for c in POPULATION_COLUMNS if c in cols), None)
    if population_column is None:
        pop = np.full(n, "units")
    elif population_column in cols:
        pop = cols[population_column].astype(str)
    else:
        why = f" ({population_column!r} is {skipped[population_column]})" if population_column in skipped else ""
        raise input_error("population_column", f"a scalar column of the Units table among {sorted(cols)} or None",
                          repr(population_column) + why)
    extra = {("source_" + c if c in L.UNIT_FIELDS else "nwb_unit_id" if c == "unit_id" else c): v
             for c, v in cols.items()}
    extra["unit_id"] = ids
    names = [f"unit{i}" for i in ids] if np.unique(ids).size == n else [f"unit{k}" for k in range(n)]
    return UnitTable(name=names, population=pop, layer=np.full(n, -1), cell_type=np.full(n, "unknown"),
                     index_in_population=np.arange(n), channel_id=ids, columns=extra)


def _descriptions(table):
    """``{column: description}`` of a DynamicTable (a ragged column's from its data, not its index)."""
    from hdmf.common import VectorIndex

    out = {}
    for name in table.colnames:
        col = table[name]
        while isinstance(col, VectorIndex):
            col = col.target
        out[name] = str(col.description or "")
    return out


def _table_columns(table, skip=()):
    """Scalar columns of a DynamicTable as arrays, and ``{name: reason}`` for the others."""
    cols, skipped = {}, {}
    for name in table.colnames:
        if name in skip:
            continue
        arr, why = _scalar(table[name], name)
        if arr is None:
            skipped[name] = why
        else:
            cols[name] = arr
    return cols, skipped


def _scalar(col, name):
    """A scalar column as a numpy array (strings decoded, electrode_group as its name), else (None, reason)."""
    from hdmf.common import DynamicTableRegion, EnumData, VectorIndex
    from hdmf.container import AbstractContainer

    if isinstance(col, VectorIndex):
        target = col.target
        while isinstance(target, VectorIndex):
            target = target.target
        if isinstance(target, DynamicTableRegion):
            return None, f"ragged references to rows of {getattr(target.table, 'name', 'another table')}"
        return None, "ragged (a list per row)"
    if isinstance(col, DynamicTableRegion):
        return None, f"a reference to rows of {getattr(col.table, 'name', 'another table')}"
    shape = tuple(getattr(col.data, "shape", np.shape(col.data)))
    if len(shape) != 1:
        return None, f"multi-dimensional (shape {shape})"
    if getattr(getattr(col.data, "dtype", None), "names", None):
        return None, "compound (several fields per row)"
    if isinstance(col, EnumData):
        data = np.asarray(col.elements.data[:], dtype=object)[np.asarray(col.data[:], np.int64)].tolist()
    else:
        data = col.data[:]
    if isinstance(data, np.ndarray) and data.dtype.kind in "biuf":
        return data, None
    data = list(data)
    if data and any(isinstance(v, AbstractContainer) for v in data):
        if name == "electrode_group" and all(isinstance(v, AbstractContainer) for v in data):
            return np.array([v.name for v in data], dtype=str), None
        return None, "a reference to NWB objects"
    arr = np.asarray(data)
    if arr.dtype.kind in "biuf":
        return arr, None
    return np.array([v.decode() if isinstance(v, bytes) else str(v) for v in data], dtype=str), None


def _units_table(nwb, units):
    if units is not None:
        where, table = _find(nwb, units, ("Units",), "units")
    elif nwb.units is not None:
        where, table = "units", nwb.units
    else:
        found = _catalogue(nwb, ("Units",))
        if len(found) != 1:
            raise input_error("path", "an NWB file with a Units table holding spike_times",
                              f"{len(found)} Units tables {sorted(found)}",
                              "Choose one with units=NAME." if found else None, cls=DataFormatError)
        where, table = next(iter(found.items()))
    if "spike_times" not in table.colnames:
        raise input_error("path", "an NWB file with a Units table holding spike_times",
                          f"{where} without spike_times (columns {list(table.colnames)})", cls=DataFormatError)
    return where, table


# ---------------------------------------------------------------------- windows (the trials)
def _windows(nwb, flat_s, trials, align, window_ms, label_column, notes):
    """The trials: starts / stops / durations (ms), the TrialTable, and what meta says about them."""
    if align is not None:
        return _aligned(nwb, align, window_ms, label_column)
    if trials is None:
        trials = "intervals/trials" if nwb.trials is not None and len(nwb.trials) else False
    if trials is False:
        return _session(nwb, flat_s)
    where, table = _find(nwb, trials, ("TimeIntervals",), "trials")
    start_s = np.asarray(table["start_time"].data[:], float)
    stop_s = np.asarray(table["stop_time"].data[:], float)
    if not len(start_s):
        raise input_error("trials", "a TimeIntervals table with at least one interval", f"{where} is empty",
                          "Pass trials=False for one trial spanning the session.", cls=DataFormatError)
    start_s, stop_s = _fill_stops(start_s, stop_s, where)
    start_ms, stop_ms = ms_from_s(start_s), ms_from_s(stop_s)
    dur = stop_ms - start_ms
    cols, skipped = _table_columns(table, skip=("start_time", "stop_time"))
    descr = _descriptions(table)
    descr[""] = str(table.description or "")
    if notes:  # a file of an earlier version of this package: labels and columns restored
        tt = TrialTable(cols["label"], cols["prediction"], cols["decision_time_ms"],
                        {c: cols[c] for c in notes["trial_columns"]}, tuple(notes["label_names"]))
        return dict(start_ms=start_ms, stop_ms=stop_ms, duration_ms=dur, trials=tt, source=where, skipped=skipped,
                    meta={}, descriptions={}, trial_duration_ms=float(notes["trial_duration_ms"]))
    label, names = _labels(table, cols, label_column, where)
    cols = _rename_taken(cols, ("duration_ms", "source_start_ms"))
    cols.update(duration_ms=dur, source_start_ms=start_ms)
    return dict(start_ms=start_ms, stop_ms=stop_ms, duration_ms=dur, trials=TrialTable(label, columns=cols, label_names=names),
                source=where, skipped=skipped, meta={"trials_table": where}, descriptions=descr,
                trial_duration_ms=float(dur.max()))


def _session(nwb, flat_s):
    lo, hi = _time_span(nwb, flat_s)
    start_ms = min(0.0, ms_from_s(lo)) if np.isfinite(lo) else 0.0
    end_ms = ms_from_s(hi) if np.isfinite(hi) else start_ms + 1000.0
    stop_ms = max(np.nextafter(end_ms, np.inf), start_ms + np.spacing(max(abs(start_ms), 1.0)))
    dur = np.array([stop_ms - start_ms])
    cols = {"duration_ms": dur, "source_start_ms": np.array([start_ms])}
    meta = {"session_window_ms": [start_ms, float(stop_ms)]}
    if not np.isfinite(hi):
        meta["session_window_note"] = "no times in the file: one trial of 1 s"
    return dict(start_ms=np.array([start_ms]), stop_ms=np.array([stop_ms]), duration_ms=dur,
                trials=TrialTable(np.full(1, -1), columns=cols), source="session", skipped={}, meta=meta,
                descriptions={"": "the whole session as one trial (the file has no trials table)"},
                trial_duration_ms=float(dur[0]))


def _time_span(nwb, flat_s):
    """(earliest, latest) time in the file (s): spikes, every interval table, events table and time series."""
    lo, hi = [np.inf], [-np.inf]
    if flat_s.size:
        lo.append(flat_s.min())
        hi.append(flat_s.max())
    for path, obj in _catalogue(nwb, ("TimeIntervals", "EventsTable", "TimeSeries")).items():
        kind = _kind(obj)
        if kind == "TimeSeries":
            t = _series_span(obj)
        else:
            cols = ("start_time", "stop_time") if kind == "TimeIntervals" else ("timestamp",)
            t = np.concatenate([np.asarray(obj[c].data[:], float) for c in cols]) if len(obj) else np.zeros(0)
        t = t[np.isfinite(t)]
        if t.size:
            lo.append(t.min())
            hi.append(t.max())
    for units in _catalogue(nwb, ("Units",)).values():
        if "spike_times" in units.colnames and len(units["spike_times"].target.data):
            t = np.asarray(units["spike_times"].target.data[:], float)
            lo.append(t.min())
            hi.append(t.max())
    return min(lo), max(hi)


def _series_span(ts):
    """First and last time of a TimeSeries (s): its timestamps, or starting_time to the end of the last sample."""
    n = ts.num_samples
    if ts.timestamps is not None:
        t = ts.timestamps
        if len(t) > 1_000_000:  # a long sampled signal: NWB timestamps ascend, read the ends only
            return np.asarray([t[0], t[-1]], float)
        return np.asarray(t[:], float)
    if not n or ts.rate is None:
        return np.zeros(0)
    t0 = float(ts.starting_time or 0.0)
    return np.array([t0, t0 + n / float(ts.rate)])


def _aligned(nwb, align, window_ms, label_column):
    pre, post = (float(x) for x in window_ms)
    where, obj = _find(nwb, align, ("TimeIntervals", "EventsTable", "TimeSeries"), "align")
    kind = _kind(obj)
    descr = {}
    if kind == "TimeSeries":
        t_s = np.asarray(obj.get_timestamps()[:], float)
        cols, skipped = {}, {}
        data = np.asarray(obj.data[:]) if label_column == "data" else None
        if label_column not in (None, "auto", "data"):
            raise input_error("label_column", f"None or 'data' (the values of the TimeSeries {where})",
                              repr(label_column))
    else:
        tcol = "start_time" if kind == "TimeIntervals" else "timestamp"
        t_s = np.asarray(obj[tcol].data[:], float)
        cols, skipped = _table_columns(obj, skip=(tcol,))
        descr = {c: d for c, d in _descriptions(obj).items() if c != tcol}
    order = np.argsort(t_s, kind="stable")
    order = order[np.isfinite(t_s[order])]
    n_bad = int(t_s.size - order.size)
    if not order.size:
        raise input_error("align", "an event series with at least one finite time", f"{where} has none",
                          cls=DataFormatError)
    start_ms = ms_from_s(t_s[order]) - pre
    stop_ms = start_ms + (pre + post)
    dur = np.full(order.size, pre + post)
    if kind == "TimeSeries":
        if label_column == "data":
            if data.ndim != 1:
                raise input_error("label_column", f"'data' only for a 1-D TimeSeries", f"{where} of shape {data.shape}")
            vals = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in data[order].tolist()])
            names, label = np.unique(vals, return_inverse=True)
            label, names = label, tuple(names.tolist())
        else:
            label, names = np.full(order.size, -1), ()
    else:
        cols = {c: v[order] for c, v in cols.items()}
        label, names = _labels(obj, cols, label_column, where, rows=order)
    cols = _rename_taken(cols, ("source_start_ms", "align_ms", "source_row"))
    cols.update(source_start_ms=start_ms, align_ms=np.full(order.size, pre), source_row=order)
    descr[""] = f"windows [t - {pre} ms, t + {post} ms) around each event of {where}"
    meta = {"align": where, "window_ms": [pre, post]}
    if n_bad:
        meta["n_align_times_not_finite"] = n_bad
    return dict(start_ms=start_ms, stop_ms=stop_ms, duration_ms=dur, trials=TrialTable(label, columns=cols, label_names=names),
                source="align", skipped=skipped, meta=meta, descriptions=descr, trial_duration_ms=pre + post)


def _rename_taken(cols, taken):
    return {(f"nwb_{c}" if c in taken else c): v for c, v in cols.items()}


def _labels(table, cols, label_column, where, rows=None):
    if label_column == "auto":
        label_column = next((c for c in LABEL_COLUMNS if c in cols), None)
    n = len(next(iter(cols.values()))) if cols else (len(table) if rows is None else len(rows))
    if label_column is None:
        return np.full(n, -1), ()
    if label_column == "tags" and "tags" in table.colnames:
        tags = table["tags"][:]
        vals = np.array([",".join(str(x) for x in t) for t in tags], dtype=str)
        vals = vals if rows is None else vals[rows]
    elif label_column in cols:
        vals = cols[label_column].astype(str)
    else:
        raise input_error("label_column", f"a scalar column of {where} among {sorted(cols)}, 'tags' or None",
                          repr(label_column))
    names, label = np.unique(vals, return_inverse=True)
    return label, tuple(names.tolist())


def _fill_stops(starts, stops, where):
    if not np.all(np.isfinite(starts)):
        raise input_error("trials", f"finite start times in {where}", f"{int(np.sum(~np.isfinite(starts)))} not finite",
                          cls=DataFormatError)
    stops = stops.copy()
    missing = ~np.isfinite(stops)
    if missing.any():
        order = np.argsort(starts, kind="stable")
        nxt = np.full(starts.size, np.nan)
        nxt[order[:-1]] = starts[order[1:]]
        stops[missing] = nxt[missing]
        missing = ~np.isfinite(stops)
        if missing.any():
            other = stops[~missing] - starts[~missing]
            stops[missing] = starts[missing] + (other.max() if other.size else 1.0)
    bad = int(np.sum(~(stops > starts)))
    if bad:
        raise input_error("trials", f"intervals with stop_time > start_time in {where}", f"{bad} of zero or negative length",
                          f"Use align={where.split('/')[-1]!r}, window_ms=(pre, post) for events without a duration.",
                          cls=DataFormatError)
    return starts, stops


def _occurrences(t_ms, start_ms, stop_ms):
    """Every (time, window) with ``start <= t < stop``: indices into ``t_ms``, window of each, the number of
    times in no window and in several."""
    order = np.argsort(t_ms, kind="stable")
    ts = t_ms[order]
    lo = np.searchsorted(ts, start_ms, "left")
    hi = np.searchsorted(ts, stop_ms, "left")
    n = np.maximum(hi - lo, 0)
    r = np.repeat(np.arange(start_ms.size), n)
    pos = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n) + np.repeat(lo, n)
    cover = np.zeros(ts.size + 1, np.int64)
    np.add.at(cover, lo, 1)
    np.add.at(cover, hi, -1)
    cover = np.cumsum(cover)[:-1]
    return order[pos], r, int(np.sum(cover == 0)), int(np.sum(cover > 1))


# ---------------------------------------------------------------------- events
def _events(nwb, events, win, descr):
    sources = _event_sources(nwb, events)
    out, outside, paths = {}, {}, {}
    names = [obj.name for _, obj in sources]
    for where, obj in sources:
        kind = obj.name if names.count(obj.name) == 1 else where
        if _kind(obj) == "TimeSeries":
            t = np.asarray(obj.get_timestamps()[:], float)
        else:
            t = np.asarray(obj["timestamp"].data[:], float)
        t = ms_from_s(t[np.isfinite(t)])
        occ, r, n_out, _ = _occurrences(t, win["start_ms"], win["stop_ms"])
        rel = np.minimum(t[occ] - win["start_ms"][r], np.nextafter(win["duration_ms"][r], 0))
        out[kind] = EventTimes(rel, r)
        paths[kind] = where
        descr[f"events.{kind}"] = str(obj.description or "")
        if n_out:
            outside[kind] = n_out
    return out, {"event_sources": paths, "n_events_outside_trials": outside}


def _event_sources(nwb, events):
    if events is not True:
        return [_find(nwb, name, ("EventsTable", "TimeSeries"), "events") for name in events]
    out = []
    for where, obj in _catalogue(nwb, ("EventsTable", "TimeSeries")).items():
        if _kind(obj) == "EventsTable":
            out.append((where, obj))
            continue
        parent = type(obj.parent).__name__
        plain = type(obj).__name__ == "TimeSeries" and obj.timestamps is not None \
            and len(getattr(obj.data, "shape", np.shape(obj.data))) <= 1
        if parent == "BehavioralEvents" or type(obj).__name__ == "AnnotationSeries" or (
                plain and parent in ("NWBFile", "ProcessingModule") and where.split("/")[0] in ("acquisition", "processing")):
            out.append((where, obj))
    return out


# ---------------------------------------------------------------------- finding objects in a file
def _events_table_class():
    """pynwb's EventsTable (NWB >= 2.10), or None with an older pynwb (whose files hold none)."""
    try:
        from pynwb.event import EventsTable
    except ImportError:
        return None
    return EventsTable


def _kind(obj):
    import pynwb
    from pynwb.epoch import TimeIntervals
    from pynwb.misc import Units

    for cls, name in ((TimeIntervals, "TimeIntervals"), (_events_table_class(), "EventsTable"), (Units, "Units"),
                      (pynwb.TimeSeries, "TimeSeries")):
        if cls is not None and isinstance(obj, cls):
            return name
    return None


def _path(obj):
    """Where ``obj`` sits in the file: ``acquisition/lick_times/lick_left_times``, ``intervals/trials`` ..."""
    from pynwb import NWBFile

    parts = []
    while obj is not None and not isinstance(obj, NWBFile):
        parts.append(obj.name)
        parent = obj.parent
        if isinstance(parent, NWBFile):
            group = next((g for g in _ROOT_GROUPS if getattr(parent, g, None) is not None
                          and obj.name in getattr(parent, g) and getattr(parent, g)[obj.name] is obj), None)
            if group:
                parts.append(group)
        obj = parent
    return "/".join(reversed(parts))


def _catalogue(nwb, kinds):
    """``{path: object}`` of the objects of ``kinds`` (see :func:`_kind`) in the file."""
    out = {}
    for obj in nwb.objects.values():
        if _kind(obj) in kinds:
            out[_path(obj)] = obj
    return out


def _find(nwb, name, kinds, argument):
    """``(path, object)`` of the one object of ``kinds`` whose path or name is ``name``."""
    found = _catalogue(nwb, kinds)
    if name in found:
        return name, found[name]
    hits = [p for p, o in found.items() if o.name == name or p.endswith("/" + name)]
    if len(hits) == 1:
        return hits[0], found[hits[0]]
    what = ("an " if kinds[0] == "EventsTable" else "a ") + (
        kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " or " + kinds[-1])
    if hits:
        raise input_error(argument, f"one {what[what.index(' ') + 1:]} named {name!r}", f"several: {sorted(hits)}",
                          "Pass the full path.")
    raise input_error(argument, f"the name or path of {what} in the file, among {sorted(found)}", repr(name))
