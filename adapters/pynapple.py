"""pynapple <-> SpikeRecord: a ``TsGroup`` (and an ``IntervalSet`` of trials) in, the same two objects out.

pynapple (``pip install pynapple``) keeps spike times in seconds on the recording's clock: a ``TsGroup``
holds one ``Ts`` per unit (keyed by an integer) with a metadata table, an ``IntervalSet`` holds sorted,
non-overlapping epochs with their own metadata.

:func:`from_pynapple` (the converter ``"pynapple"`` of :data:`synsem_ephys.adapters.CONVERTERS`)::

    units    one per TsGroup key, in key order; metadata columns named like the UnitTable's fields
             (name, population, layer, cell_type, index_in_population, channel_id) fill them, every other
             column becomes a unit column ("rate" is left out: pynapple derives it from the time support);
             defaults: name "unit<key>", population "unit", layer -1, cell type "unknown", channel_id = key
    trials   one per IntervalSet row, window [start, end) (half-open, as every trial of a SpikeRecord);
             IntervalSet metadata columns -> trial columns; source_start_ms = start, duration_ms = end - start;
             epochs=None: one trial spanning the time support, from its first start to the whole ms after
             its last end
    labels   label_column: "auto" = a column "label": integers are the classes (their names from "label_name"),
             strings name them (sorted); without such a column, none;
             a column name = its distinct values, sorted, become the classes; None = no labels

Every spike is kept or accounted for: a spike outside every interval is an error naming how many
(``outside="error"``), or left out and counted in ``meta["n_spikes_outside_trials"]`` (``outside="count"``).

:func:`to_pynapple` writes the recording on its own clock: trial ``r`` starts at the trial column
``source_start_ms[r]`` when the record has it and the windows are increasing and do not overlap on it
(``clock="source"``), else trials are laid end to end with a gap (``clock="end_to_end"``, as
:func:`synsem_ephys.io.layout.trial_offsets_ms` does); the TsGroup's time support spans the first start to
the last end, so no spike is restricted away. The unit fields go into the TsGroup metadata under their own
names, the trial fields (``label``, ``label_name``, ``prediction``, ``decision_time_ms``) and trial columns
into the IntervalSet's, so ``from_pynapple(*to_pynapple(record))`` gives the record back (times to a few
ulps of the clock: ms -> s -> ms). pynapple itself moves an interval's end 1 us earlier where it touches
the next one (trials that end where the next starts) and warns.
"""

import numpy as np

from synsem_ephys.errors import input_error
from synsem_ephys.io.layout import UNIT_FIELDS, default_gap_ms, trial_offsets_ms, units_from_annotations
from synsem_ephys.record import SpikeRecord, TrialTable
from synsem_ephys.units import ms_from_s, s_from_ms

from ._common import import_optional
from .populations import module_version
from .spiketimes_text import spikes_in_windows, trial_table

__all__ = ["from_pynapple", "to_pynapple"]

#: TrialTable fields written into (and read back from) the IntervalSet metadata.
_TRIAL_FIELDS = ("label", "label_name", "prediction", "decision_time_ms")
_FIELD_ANNOTATION = {"population": "source_population", "index_in_population": "source_index",
                     "channel_id": "channel_id", "layer": "layer", "cell_type": "cell_type"}


def _nap():
    return import_optional("pynapple", "the pynapple bridge (adapters.pynapple)")


def _frame_columns(frame, skip=()):
    """{name: ndarray} of a metadata DataFrame's scalar columns (numbers, booleans, strings) and
    {name: reason} of the skipped ones."""
    out, skipped = {}, {}
    for name in frame.columns:
        name = str(name)
        if name in skip:
            continue
        values = frame[name].to_numpy()
        if values.dtype.kind in "biuf":
            out[name] = values
        elif values.dtype.kind in "USO" and all(isinstance(v, str) for v in values.tolist()):
            out[name] = np.asarray(values.tolist(), dtype=str)
        else:
            skipped[name] = f"dtype {values.dtype} (not numbers, booleans or strings)"
    return out, skipped


def _labels(cols, label_column, n):
    if label_column is None:
        return np.full(n, -1), (), cols
    if label_column == "auto":
        lab = cols.get("label")
        if lab is None or lab.dtype.kind not in "iuU":
            return np.full(n, -1), (), cols
        if lab.dtype.kind == "U":
            return _labels(cols, "label", n)
        cols = dict(cols)
        cols.pop("label")
        names = cols.pop("label_name", None)
        k = int(lab.max(initial=-1)) + 1
        table = [""] * k
        if names is not None:
            for code, name in zip(lab.tolist(), names.tolist()):
                if code >= 0:
                    table[code] = str(name)
        named = names is not None and all(table)
        return lab.astype(np.int64), tuple(table) if named else (), cols
    if label_column not in cols:
        raise input_error("label_column", f"'auto', None or an IntervalSet metadata column among {sorted(cols)}",
                          repr(label_column))
    names, codes = np.unique(cols[label_column], return_inverse=True)
    if label_column == "label":  # the name of the TrialTable field: not kept as a column too
        cols = {k: v for k, v in cols.items() if k != "label"}
    return codes.astype(np.int64), tuple(str(x) for x in names), cols


def from_pynapple(tsgroup, epochs=None, *, label_column="auto", population_column=None, outside="error"):
    """A pynapple ``TsGroup`` (and an ``IntervalSet`` of trials) as a SpikeRecord (see the module docstring).

    Parameters
    ----------
    tsgroup : pynapple.TsGroup
        The units; times in seconds.
    epochs : pynapple.IntervalSet, optional
        The trials, one per row (metadata -> trial columns); default one trial spanning the time support.
    label_column : "auto", str or None
        The IntervalSet column holding the class of each trial (see the module docstring).
    population_column : str, optional
        A TsGroup metadata column to use as the population (default: a column "population", else "unit").
    outside : {"error", "count"}
        A spike in no interval: an error naming how many, or left out and counted in meta.

    Returns
    -------
    SpikeRecord
        ``meta``: source "pynapple", its version, ``n_spikes_outside_trials``, ``skipped_unit_columns`` and
        ``skipped_trial_columns`` (with the reason), the time support in s.
    """
    nap = _nap()
    if not isinstance(tsgroup, nap.TsGroup):
        raise input_error("tsgroup", "a pynapple.TsGroup", type(tsgroup).__name__,
                          "Build one with pynapple.TsGroup({unit_id: pynapple.Ts(t=times_s), ...}).")
    if epochs is not None and not isinstance(epochs, nap.IntervalSet):
        raise input_error("epochs", "a pynapple.IntervalSet (one row per trial) or None", type(epochs).__name__)
    keys = [int(k) for k in tsgroup.keys()]
    ucols, uskipped = _frame_columns(tsgroup.metadata, skip=("rate",))
    if population_column is not None:
        if population_column not in ucols:
            raise input_error("population_column", f"a TsGroup metadata column among {sorted(ucols)}",
                              repr(population_column))
        ucols["population"] = ucols.pop(population_column).astype(str)
    n = len(keys)
    names = ucols.pop("name", None)
    names = [f"unit{k}" for k in keys] if names is None else [str(x) for x in names.tolist()]
    fields = {f: ucols.pop(f) for f in list(_FIELD_ANNOTATION) if f in ucols}
    fields.setdefault("channel_id", np.asarray(keys, np.int64))
    ann = [{_FIELD_ANNOTATION[f]: (v[i].item() if hasattr(v[i], "item") else v[i]) for f, v in fields.items()}
           for i in range(n)]
    extra = [{c: v[i] for c, v in ucols.items()} for i in range(n)]
    for a, e in zip(ann, extra):
        a.update(e)
    units = units_from_annotations(names, ann, unit_columns=list(ucols))
    per_unit = [ms_from_s(np.asarray(tsgroup[k].t, float)) for k in keys]
    all_ms = np.concatenate(per_unit) if per_unit else np.zeros(0)
    support = tsgroup.time_support
    tskipped = {}
    if epochs is None:
        lo = ms_from_s(float(support.start[0])) if len(support) else (float(all_ms.min()) if all_ms.size else 0.0)
        hi = ms_from_s(float(support.end[-1])) if len(support) else (float(all_ms.max()) if all_ms.size else lo)
        starts = np.array([lo])
        durations = np.array([float(np.floor(max(hi, all_ms.max() if all_ms.size else hi) - lo)) + 1.0])
        ttab = trial_table(starts, durations)
    else:
        if not len(epochs):
            raise input_error("epochs", "an IntervalSet with at least one interval", "an empty one",
                              "Pass epochs=None for one trial spanning the recording.")
        starts = ms_from_s(np.asarray(epochs.start, float))
        durations = ms_from_s(np.asarray(epochs.end, float)) - starts
        tcols, tskipped = _frame_columns(epochs.metadata)
        label, label_names, tcols = _labels(tcols, label_column, len(starts))
        pred = tcols.pop("prediction", None)
        dec = tcols.pop("decision_time_ms", None)
        src = tcols.pop("source_start_ms", None)
        tcols.pop("duration_ms", None)  # the interval's own length is the truth
        ttab = trial_table(starts, durations, columns=tcols)
        cols = dict(ttab.columns)
        if src is not None and src.dtype.kind in "iuf":  # written by to_pynapple on an end-to-end clock
            cols["source_start_ms"] = src.astype(float)
        ttab = TrialTable(label, pred if pred is not None and pred.dtype.kind in "iu" else None,
                          dec if dec is not None and dec.dtype.kind == "f" else None, cols, label_names)
    unit_of = np.repeat(np.arange(n), [t.size for t in per_unit])
    rel, trial, inside = spikes_in_windows(all_ms, starts, durations, outside=outside, where="the TsGroup")
    meta = {"source": "pynapple.TsGroup", "source_format": "pynapple", "pynapple_version": module_version("pynapple"),
            "unit_keys": keys, "n_spikes_outside_trials": int(all_ms.size - inside.sum()),
            "skipped_unit_columns": uskipped, "skipped_trial_columns": tskipped,
            "time_support_s": [[float(a), float(b)] for a, b in zip(support.start, support.end)],
            "trials_source": "epochs" if epochs is not None else "the time support"}
    return SpikeRecord(rel, unit_of[inside], trial, units, ttab, float(durations.max()), meta)


def _clock(record, clock, gap_ms):
    if clock not in (None, "source", "end_to_end"):
        raise input_error("clock", "None, 'source' or 'end_to_end'", repr(clock))
    dur = record.trial_duration_ms
    gap = default_gap_ms(dur) if gap_ms is None else float(gap_ms)
    if not (np.isfinite(gap) and gap >= 0):
        raise input_error("gap_ms", "a finite float >= 0", gap_ms)
    durations = np.asarray(record.trials.columns.get("duration_ms", np.full(record.n_trials, dur)), float)
    src = record.trials.columns.get("source_start_ms")
    ok = src is not None and src.dtype.kind in "iuf" and bool(np.all(np.isfinite(src)))
    why = "no trial column 'source_start_ms'" if src is None else "non-finite or non-numeric source_start_ms"
    if ok:
        s = np.asarray(src, float)
        ok = bool(np.all(np.diff(s) > 0) and np.all(s[:-1] + durations[:-1] <= s[1:]))
        why = "trials that are not increasing or overlap on it (pynapple would merge them)"
    if clock == "source" and not ok:
        raise input_error("clock", "increasing, non-overlapping trials on source_start_ms for clock='source'", why,
                          "Use clock='end_to_end'.")
    if clock == "source" or (clock is None and ok):
        return np.asarray(src, float), durations, "source"
    return trial_offsets_ms(record.n_trials, dur, gap), durations, "end_to_end"


def _refused(names, cls, what):
    bad = sorted(n for n in names if n in dir(cls))
    if bad:
        raise input_error("record", f"{what} names that pynapple accepts as metadata", f"{bad} (attributes of {cls.__name__})",
                          "Rename the column(s).")


def to_pynapple(record, *, clock=None, gap_ms=None):
    """A SpikeRecord as a pynapple ``(TsGroup, IntervalSet)`` on the recording's clock (see the module docstring).

    Parameters
    ----------
    record : SpikeRecord
    clock : {None, "source", "end_to_end"}
        Where trial ``r`` starts: ``source_start_ms[r]`` ("source") or ``r * (trial_duration_ms + gap_ms)``
        ("end_to_end"); None: "source" when the record has the column and its windows are increasing and
        do not overlap on it.
    gap_ms : float, optional
        Silence between trials end to end (default :func:`synsem_ephys.io.layout.default_gap_ms`).

    Returns
    -------
    tsgroup : pynapple.TsGroup
        Keys 0 .. n_units - 1 (the unit rows); metadata: the unit fields and columns.
    epochs : pynapple.IntervalSet
        One row per trial, ``[start, start + duration)`` in s; metadata: ``label``, ``label_name``,
        ``prediction``, ``decision_time_ms`` and the trial columns (``source_start_ms`` only on the end-to-end
        clock, where the interval does not hold it).
    """
    nap = _nap()
    if not isinstance(record, SpikeRecord):
        raise input_error("record", "a synsem_ephys.record.SpikeRecord", type(record).__name__)
    if record.n_units == 0:
        raise input_error("record", "a record with at least one unit (a TsGroup cannot be empty)", "0 units")
    starts, durations, used = _clock(record, clock, gap_ms)
    u = record.units
    umeta = {f: np.asarray(getattr(u, f)) for f in UNIT_FIELDS}
    taken = sorted(set(u.columns) & (set(umeta) | {"rate"}))
    if taken:
        raise input_error("record", "unit columns not named like a unit field or 'rate'", taken, "Rename the column(s).")
    umeta.update({k: np.asarray(v) for k, v in u.columns.items()})
    abs_ms = starts[record.trial_index] + record.times_ms
    data = {}
    for k in range(record.n_units):
        sel = record.unit_index == k
        data[k] = nap.Ts(t=np.sort(s_from_ms(abs_ms[sel])), time_units="s")
    ends = starts + durations
    support = nap.IntervalSet(start=s_from_ms(float(starts.min())), end=s_from_ms(float(ends.max())), time_units="s")
    group = nap.TsGroup(data, time_support=support, time_units="s", metadata=umeta)
    t = record.trials
    tmeta = {"label": np.asarray(t.label), "prediction": np.asarray(t.prediction),
             "decision_time_ms": np.asarray(t.decision_time_ms)}
    if t.label_names:
        tmeta["label_name"] = np.array([t.label_names[k] if k >= 0 else "" for k in t.label.tolist()], dtype=str)
    skip = {"duration_ms"} | ({"source_start_ms"} if used == "source" else set())
    taken = sorted(set(t.columns) & set(_TRIAL_FIELDS))
    if taken:
        raise input_error("record", "trial columns not named like a trial field", taken, "Rename the column(s).")
    tmeta.update({k: np.asarray(v) for k, v in t.columns.items() if k not in skip})
    _refused(tmeta, nap.IntervalSet, "trial column")
    epochs = nap.IntervalSet(start=s_from_ms(starts), end=s_from_ms(ends), time_units="s", metadata=tmeta)
    return group, epochs
