"""The trials of an NWB recording: intervals tables, event-aligned windows or the whole session (see :mod:`.read`)."""


import numpy as np

from ...errors import DataFormatError, input_error
from ...record import TrialTable
from ...units import ms_from_s
from ._common import LABEL_COLUMNS, _catalogue, _descriptions, _find, _kind, _table_columns

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
        get = {f: cols[f] for f in notes.get("trial_fields", ()) if f in cols}  # only the fields it wrote
        tt = TrialTable(get.get("label", np.full(len(start_ms), -1)), get.get("prediction"), get.get("decision_time_ms"),
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
                raise input_error("label_column", "'data' only for a 1-D TimeSeries", f"{where} of shape {data.shape}")
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
