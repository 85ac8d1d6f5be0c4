"""What the NWB reader and writer share: the column conventions, the layout tag, finding objects in a file."""


import numpy as np

from ...errors import DataFormatError, input_error

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


def _ragged_values(table, name):
    idx = table[name]
    return np.asarray(idx.target.data[:]), np.asarray(idx.data[:], np.int64)


def _column_values(table, name):
    arr, why = _scalar(table[name], name)
    if arr is None:
        raise input_error(f"{table.name}.{name}", "a scalar column written by synsem_ephys", why, cls=DataFormatError)
    return arr


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
