"""The canonical Block of a SpikeRecord as plain values: every name, annotation and array of it, no neo objects.

One home for what :func:`synsem_ephys.io.to_block` builds and the NIX writer writes straight from the record
(:mod:`synsem_ephys.io._nix_h5.direct`, without ~2,400 neo objects for the demo recording): both take the
objects' names, annotations (and their order) and arrays from :func:`canonical_block`, so the file written
either way is the same (tested) and the layout (:mod:`synsem_ephys.io.layout`) is spelled out once.

Per unit ``u`` (units in the record's order; silent units too)::

    SpikeTrain  name unit_names[u], times times_ms[bounds[u]:bounds[u+1]] (block time, ms, sorted),
                t_start 0 ms, t_stop t_stop_ms, annotations unit_annotations[u],
                array annotations {"trial": trial[...], TRIAL_TIME_ANNOTATION: trial_time_ms[...]}
"""

import datetime
import json
from dataclasses import dataclass

import numpy as np

from ..errors import input_error
from ..record import SpikeRecord
from . import layout as L

__all__ = [
    "SEGMENT_NAME",
    "SIGNALS_ANNOTATION",
    "CanonicalBlock",
    "CanonicalGroup",
    "CanonicalTag",
    "canonical_block",
    "signals_json",
]

#: Name of the one Segment of the canonical Block.
SEGMENT_NAME = "all trials"
#: Block annotation (JSON) describing the record's signals, written only when the record has signals.
SIGNALS_ANNOTATION = "signals_json"


@dataclass(frozen=True)
class CanonicalTag:
    """An Epoch (``durations_ms`` given) or Event of the canonical Block."""

    name: str
    times_ms: np.ndarray
    labels: np.ndarray
    array_annotations: dict
    durations_ms: np.ndarray = None


@dataclass(frozen=True)
class CanonicalGroup:
    """The ``neo.Group`` of a population: its SpikeTrains by unit index, its annotations."""

    name: str
    members: np.ndarray
    annotations: dict


@dataclass(frozen=True)
class CanonicalBlock:
    """The canonical one-Segment Block of a record as plain values (see the module docstring)."""

    name: str
    description: str
    file_origin: object
    rec_datetime: object
    annotations: dict
    t_stop_ms: float
    offsets_ms: np.ndarray
    unit_names: list
    unit_annotations: list
    bounds: np.ndarray
    times_ms: np.ndarray
    trial: np.ndarray
    trial_time_ms: np.ndarray
    epochs: list
    events: list
    groups: list
    segment_name: str = SEGMENT_NAME

    @property
    def n_units(self):
        return len(self.unit_names)

    def train_arrays(self, u):
        """(block times in ms, array annotations) of unit ``u``'s SpikeTrain (views, not copies)."""
        a, b = self.bounds[u], self.bounds[u + 1]
        return self.times_ms[a:b], {"trial": self.trial[a:b], L.TRIAL_TIME_ANNOTATION: self.trial_time_ms[a:b]}


def canonical_block(record, *, name=None, description=None, gap_ms=None, file_origin=None, rec_datetime=None):
    """The canonical Block of ``record`` as plain values (the arguments as :func:`synsem_ephys.io.to_block`'s)."""
    if not isinstance(record, SpikeRecord):
        raise input_error("record", "a synsem_ephys.record.SpikeRecord", type(record).__name__)
    from .. import __version__

    dur = record.trial_duration_ms
    gap = L.default_gap_ms(dur) if gap_ms is None else float(gap_ms)
    if not (np.isfinite(gap) and gap > 0):
        raise input_error("gap_ms", "a finite float > 0", gap_ms)
    meta = record.meta
    if rec_datetime is None and isinstance(meta.get("rec_datetime"), str):
        rec_datetime = datetime.datetime.fromisoformat(meta["rec_datetime"])
    trials, units = record.trials, record.units
    ann = {"synsem_layout": L.LAYOUT, "synsem_ephys_version": __version__, "trial_duration_ms": dur, "gap_ms": gap,
               "n_trials": record.n_trials, "n_units": record.n_units, "source": str(meta.get("source", "")),
               "meta_json": L.meta_json(meta), "label_names": list(trials.label_names),
               "trial_columns": list(trials.columns), "unit_columns": list(units.columns),
               "event_names": list(record.events)}
    if "seed" in meta and meta["seed"] is not None:
        ann["seed"] = int(meta["seed"])
    if record.signals:  # only then: a Block without signals stays exactly what it was
        ann[SIGNALS_ANNOTATION] = signals_json(record)
    spec_json = L.spec_json(meta)
    if spec_json is not None:
        ann["spec_json"] = spec_json
    offsets = L.trial_offsets_ms(record.n_trials, dur, gap)

    order = record.order_by_unit()
    bounds = np.searchsorted(record.unit_index[order], np.arange(record.n_units + 1))
    trial = record.trial_index[order]
    rel = record.times_ms[order]
    columns = [(key, col.tolist()) for key, col in units.columns.items()]
    unit_ann = []
    for u in range(record.n_units):
        a = L.unit_annotations(units, u)
        for key, values in columns:
            a[key] = values[u]
        unit_ann.append(a)

    durations = np.asarray(trials.columns.get("duration_ms", np.full(record.n_trials, dur)), float)
    arr_ann = {"label": np.asarray(trials.label), "prediction": np.asarray(trials.prediction),
               "decision_time_ms": np.asarray(trials.decision_time_ms)}
    for key, col in trials.columns.items():
        if key in arr_ann:
            raise input_error("trials.columns", f"no column named like a built-in field {L.TRIAL_FIELDS}", key)
        arr_ann[key] = np.asarray(col)
    labels = L.label_strings(trials)
    epochs = [CanonicalTag(L.TRIALS_EPOCH, np.asarray(offsets, float), labels, arr_ann, durations)]
    onset = np.asarray(trials.columns.get("stimulus_onset_ms", np.full(record.n_trials, np.nan)), float)
    has = np.flatnonzero(np.isfinite(onset))
    events = [CanonicalTag(L.STIMULUS_EVENT, offsets[has] + onset[has], labels[has], {"trial": has})]
    for key, ev in record.events.items():
        events.append(CanonicalTag(key, np.asarray(offsets[ev.trial_index] + ev.times_ms, float),
                                   np.full(len(ev.times_ms), key), {"trial": np.asarray(ev.trial_index)}))
    groups = []
    for pop in dict.fromkeys(units.population.tolist()):
        idx = np.flatnonzero(units.population == pop)
        groups.append(CanonicalGroup(str(pop), idx, {"layer": int(units.layer[idx[0]]),
                                                     "cell_type": str(units.cell_type[idx[0]])}))
    return CanonicalBlock(
        name=name or str(meta.get("name", "synsem_ephys recording")),
        description=description or str(meta.get("description", "")),
        file_origin=file_origin or meta.get("file_origin"), rec_datetime=rec_datetime, annotations=ann,
        t_stop_ms=float(max(record.n_trials, 1) * (dur + gap)), offsets_ms=offsets,
        unit_names=[str(x) for x in units.name.tolist()], unit_annotations=unit_ann, bounds=bounds,
        times_ms=offsets[trial] + rel, trial=trial, trial_time_ms=rel, epochs=epochs, events=events, groups=groups)


def signals_json(record):
    """The Block annotation :data:`SIGNALS_ANNOTATION`: every signal's unit, rate, kind, channels, dtype, shape."""
    out = {}
    for name, s in record.signals.items():
        out[name] = {"unit": s.unit, "sampling_rate_hz": s.sampling_rate_hz, "kind": s.kind, "attrs": s.attrs,
                         "channel_names": list(s.channel_names), "description": s.description, "dtype": str(s.values.dtype),
                         "shape_tail": list(s.values.shape[1:])}
    return json.dumps(out)  # in the record's order
