"""Reading NWB files (ours and third-party).

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
"""

import contextlib
import datetime
import json

import numpy as np

from ..._files import existing_file, read_isolated
from ...errors import DataFormatError, DataMissingError, input_error
from ...optional import require
from ...record import EventTimes, SpikeRecord, TrialTable, UnitTable
from ...units import ms_from_s
from .. import layout as L
from ._common import EXACT_TIME, EXACT_TRIAL, FILE_FIELDS, NWB_LAYOUT, POPULATION_COLUMNS, _UNIT_FIELD_COLUMN, _catalogue, _column_values, _descriptions, _find, _kind, _ragged_values, _table_columns
from .signals import check_signals, drop_signal_events, read_our_signals, read_signals
from .windows import _occurrences, _windows

def read_nwb(path, *, label_column=None, population_column=None, events=True, trials=None, align=None,
             window_ms=None, units=None, signals=None, timeout_s=None):
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
    signals : None, False, "all" or list of str
        Continuous signals (TimeSeries, SpatialSeries ...; :mod:`synsem_ephys.io.nwb.signals`), cut into the
        trials: None = none from a third-party file (fast, as before), those written from a file of this
        package; False none; "all" every numeric non-event series of acquisition, processing and stimulus;
        a list names them. A series read as a signal is not also read as events.
    timeout_s : float, optional
        A file path is read in a forked child process where the platform allows it
        (:func:`synsem_ephys._files.call_isolated`): HDF5 loops forever or crashes on some damaged files.
        How long the read may take before the file is taken as damaged; default 120 s plus 2 s per MB.

    Returns
    -------
    SpikeRecord
        Trial columns of the source table as they are (seconds where the file uses seconds) plus
        ``source_start_ms`` (window start on the file's clock) and ``duration_ms`` (trials) or
        ``align_ms`` and ``source_row`` (aligned windows); unit columns kept (``cell_type`` as
        ``source_cell_type``, ``unit_id`` the table's ids).

    Raises
    ------
    DataMissingError
        If ``path`` does not exist.
    DataFormatError
        If the file cannot be read as NWB, its tables contradict each other, it hangs or crashes HDF5, or
        (files of this package) its recording differs from the checksum stored in it; the message names it.
    ValueError
        An argument is wrong (the message names it, and lists what the file offers where that helps).
    """
    require("pynwb", "reading NWB files")
    import pynwb

    _check_options(label_column, population_column, events, trials, align, window_ms, units)
    check_signals(signals)
    options = (label_column, population_column, events, trials, align, window_ms, units, signals)
    if isinstance(path, pynwb.NWBFile):
        return _read_file(path, path.container_source or path.identifier, *options)
    path = existing_file(path, "NWB")
    return read_isolated(_read_path, path, options, what="NWB", timeout_s=timeout_s)


#: Arguments of read_nwb: an error naming one of them is about the call, not about the file.
_OPTIONS = frozenset({"label_column", "population_column", "events", "trials", "align", "window_ms", "units",
                      "signals"})


def _read_path(path, options):
    """Open and read ``path`` (in the child of call_isolated); any error of the libraries or of the record's
    checks on what the file holds becomes a DataFormatError naming the file."""
    import pynwb

    try:
        io = pynwb.NWBHDF5IO(str(path), "r", load_namespaces=True)
        nwb = io.read()
    except Exception as exc:  # h5py OSError for non-HDF5/truncated files, hdmf errors for non-NWB HDF5
        raise input_error("path", "an NWB (HDF5) file", f"{path} ({type(exc).__name__}: {_short(exc)})",
                          "Check the file is complete and really NWB.", cls=DataFormatError) from exc
    try:
        return _read_file(nwb, path, *options)
    except Exception as exc:
        if isinstance(exc, (DataFormatError, DataMissingError)) or getattr(exc, "argument", None) in _OPTIONS:
            raise
        raise input_error("path", "an NWB file whose tables are consistent",
                          f"{path}, whose reading failed ({type(exc).__name__}: {_short(exc)})",
                          "The file is damaged or not written by the NWB standard's rules.",
                          cls=DataFormatError) from exc
    finally:
        with contextlib.suppress(Exception):
            io.close()


def _short(exc, limit=300):
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + " ..."


def _read_file(nwb, path, label_column, population_column, events, trials, align, window_ms, units, signals):
    notes = _our_notes(nwb.notes)
    if notes and notes.get("nwb_layout") == NWB_LAYOUT and trials is None and align is None and units is None:
        return _read_ours(nwb, path, notes, events, signals)
    return _read(nwb, path, notes, label_column, population_column, events, trials, align, window_ms, units,
                 signals)


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
def _read_ours(nwb, path, notes, events, signals):
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
    rec = SpikeRecord(t_ms, unit_of, trial, units, trials, float(notes["trial_duration_ms"]), notes["meta"], ev,
                      read_our_signals(nwb, notes, signals))
    if events is True and (signals is None or signals == "all"):  # the checksum covers every event and signal
        L.check_record_checksum(rec, notes.get(L.PAYLOAD_CHECKSUM), path, "NWB")
    return rec


# ---------------------------------------------------------------------- any file
def _read(nwb, path, notes, label_column, population_column, events, trials, align, window_ms, units, signals):
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
    sig, sig_meta = read_signals(nwb, signals, win["start_ms"], win["stop_ms"], descr)
    ev, ev_meta = drop_signal_events(ev, ev_meta, sig_meta.get("signal_sources", {}).values())
    if not notes:
        meta.update(units_table=upath, trials_source=win["source"], n_spikes_outside_trials=outside,
                    n_spikes_in_several_trials=several, skipped_unit_columns=uskipped,
                    skipped_trial_columns=win["skipped"], descriptions=descr, **win["meta"], **ev_meta)
        if utab.resolution is not None and np.isfinite(utab.resolution) and utab.resolution > 0:
            meta["units_resolution_s"] = float(utab.resolution)
    return SpikeRecord(times, unit_of[occ], rr, units_t, win["trials"], win["trial_duration_ms"], dict(meta, **sig_meta),
                       ev, sig)


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
    given = cols.get("unit_name")  # NWB's best practice (nwbinspector), as SpikeInterface / neuroconv write it
    if given is not None and given.dtype.kind in "US" and np.all(given != "") and np.unique(given).size == n:
        names = given.astype(str).tolist()
    else:
        names = [f"unit{i}" for i in ids] if np.unique(ids).size == n else [f"unit{k}" for k in range(n)]
    return UnitTable(name=names, population=pop, layer=np.full(n, -1), cell_type=np.full(n, "unknown"),
                     index_in_population=np.arange(n), channel_id=ids, columns=extra)


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
