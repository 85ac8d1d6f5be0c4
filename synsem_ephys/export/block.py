"""SpikeRecord <-> neo.Block, following the Neo layout contract of DESIGN.md.

Layout of the canonical Block (one Segment)::

    stride_ms       = trial_duration_ms + gap_ms
    trial r starts at offset_r = r * stride_ms;   block time = offset_r + times_ms
    SpikeTrain u    : all spikes of unit u, sorted, in pq.ms, t_start 0, t_stop n_trials * stride_ms,
                      array annotation ``trial``; annotations source_population, source_index,
                      channel_id, layer, cell_type (+ extra unit columns)
    Epoch "trials"  : times offset_r, durations (duration_ms column or trial_duration_ms), labels = class
                      names, array annotations label, prediction, decision_time_ms + trial columns
    Event "stimulus_onset": offset_r + stimulus_onset_ms for trials with a finite onset
    Event <name>    : one per record event kind (array annotation ``trial``)
    Group per population; Block annotations carry provenance and the layout's parameters.

The gap keeps every spike off a trial boundary. Going back, ``times_ms = block time - offset_r``;
floating-point addition then subtraction is exact up to half an ulp of the block time
(~1e-10 ms at 1e6 ms), so a record survives ``from_block(to_block(r))`` to that precision and the
files (NIX, NWB) add no further loss.
"""

import datetime
import json

import numpy as np

from .. import __version__
from ..errors import DataFormatError, input_error
from ..record import EventTimes, SpikeRecord, TrialTable, UnitTable
from ..units import to_float_ms, to_quantity_ms

__all__ = ["LAYOUT", "to_block", "from_block", "block_layout_ok", "trial_offsets_ms", "common_window_ms"]

#: Value of the Block annotation ``synsem_layout`` written by :func:`to_block`.
LAYOUT = "synsem_ephys.trials_end_to_end.v1"
_UNIT_KEYS = ("source_population", "source_index", "channel_id", "layer", "cell_type")
_TRIAL_KEYS = ("label", "prediction", "decision_time_ms")


def trial_offsets_ms(n_trials, trial_duration_ms, gap_ms):
    """Block start time of each trial, ``r * (trial_duration_ms + gap_ms)``."""
    return np.arange(n_trials, dtype=np.float64) * (float(trial_duration_ms) + float(gap_ms))


def _json_meta(meta):
    try:
        return json.dumps(meta, sort_keys=True, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise input_error("record.meta", "a JSON-serialisable dict", f"{exc}") from exc


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def to_block(record, *, name=None, description=None, gap_ms=None, file_origin=None, rec_datetime=None):
    """Convert a :class:`SpikeRecord` to the canonical one-Segment ``neo.Block``.

    Parameters
    ----------
    record : SpikeRecord
    name, description, file_origin : str, optional
        Block attributes (defaults from ``record.meta``).
    gap_ms : float, optional
        Silence between trials; default ``max(1, 0.1 * trial_duration_ms)``.
    rec_datetime : datetime.datetime, optional
        Default: ``record.meta['rec_datetime']`` (ISO string) if present, else None.

    Returns
    -------
    neo.Block
    """
    import neo

    if not isinstance(record, SpikeRecord):
        raise input_error("record", "a synsem_ephys.record.SpikeRecord", type(record).__name__)
    dur = record.trial_duration_ms
    gap = max(1.0, 0.1 * dur) if gap_ms is None else float(gap_ms)
    if not (np.isfinite(gap) and gap > 0):
        raise input_error("gap_ms", "a finite float > 0", gap_ms)
    meta = record.meta
    if rec_datetime is None and isinstance(meta.get("rec_datetime"), str):
        rec_datetime = datetime.datetime.fromisoformat(meta["rec_datetime"])
    trials, units = record.trials, record.units
    ann = dict(synsem_layout=LAYOUT, synsem_ephys_version=__version__, trial_duration_ms=dur, gap_ms=gap,
               n_trials=record.n_trials, n_units=record.n_units, source=str(meta.get("source", "")),
               meta_json=_json_meta(meta), label_names=list(trials.label_names),
               trial_columns=list(trials.columns), unit_columns=list(units.columns),
               event_names=list(record.events))
    if "seed" in meta and meta["seed"] is not None:
        ann["seed"] = int(meta["seed"])
    spec_json = meta.get("spec_json", meta.get("spec"))  # the simulator writes "spec"
    if isinstance(spec_json, str):
        ann["spec_json"] = spec_json
    block = neo.Block(name=name or str(meta.get("name", "synsem_ephys recording")),
                      description=description or str(meta.get("description", "")),
                      file_origin=file_origin or meta.get("file_origin"), rec_datetime=rec_datetime, **ann)
    offsets = trial_offsets_ms(record.n_trials, dur, gap)
    t_stop = to_quantity_ms(max(record.n_trials, 1) * (dur + gap))
    seg = neo.Segment(name="all trials", index=0)
    block.segments.append(seg)

    order = record.order_by_unit()
    u_sorted = record.unit_index[order]
    bounds = np.searchsorted(u_sorted, np.arange(record.n_units + 1))
    abs_ms = offsets[record.trial_index[order]] + record.times_ms[order]
    trial_sorted = record.trial_index[order]
    del order
    for u in range(record.n_units):
        a, b = bounds[u], bounds[u + 1]
        annotations = dict(source_population=str(units.population[u]), source_index=int(units.index_in_population[u]),
                           channel_id=int(units.channel_id[u]), layer=int(units.layer[u]),
                           cell_type=str(units.cell_type[u]))
        for key, col in units.columns.items():
            annotations[key] = col[u].item()
        st = neo.SpikeTrain(to_quantity_ms(abs_ms[a:b]), t_start=to_quantity_ms(0.0), t_stop=t_stop,
                            name=str(units.name[u]), array_annotations={"trial": trial_sorted[a:b]}, **annotations)
        seg.spiketrains.append(st)
    del abs_ms, trial_sorted

    durations = np.asarray(trials.columns.get("duration_ms", np.full(record.n_trials, dur)), float)
    arr_ann = {"label": np.asarray(trials.label), "prediction": np.asarray(trials.prediction),
               "decision_time_ms": np.asarray(trials.decision_time_ms)}
    for key, col in trials.columns.items():
        if key in arr_ann:
            raise input_error("trials.columns", f"no column named like a built-in field {_TRIAL_KEYS}", key)
        arr_ann[key] = np.asarray(col)
    seg.epochs.append(neo.Epoch(times=to_quantity_ms(offsets), durations=to_quantity_ms(durations),
                                labels=_label_strings(trials), name="trials", array_annotations=arr_ann))
    onset = np.asarray(trials.columns.get("stimulus_onset_ms", np.full(record.n_trials, np.nan)), float)
    has = np.flatnonzero(np.isfinite(onset))
    seg.events.append(neo.Event(times=to_quantity_ms(offsets[has] + onset[has]), labels=_label_strings(trials)[has],
                                name="stimulus_onset", array_annotations={"trial": has}))
    for key, ev in record.events.items():
        seg.events.append(neo.Event(times=to_quantity_ms(offsets[ev.trial_index] + ev.times_ms), name=key,
                                    labels=np.full(len(ev.times_ms), key), array_annotations={"trial": np.asarray(ev.trial_index)}))
    for pop in dict.fromkeys(units.population.tolist()):
        idx = np.flatnonzero(units.population == pop)
        group = neo.Group(objects=[seg.spiketrains[i] for i in idx], name=str(pop),
                          allowed_types=[neo.SpikeTrain], layer=int(units.layer[idx[0]]),
                          cell_type=str(units.cell_type[idx[0]]))
        block.groups.append(group)
    block.check_relationships()
    return block


def _label_strings(trials):
    names = trials.label_names
    lab = np.asarray(trials.label)
    if names:
        return np.array([names[k] if k >= 0 else "" for k in lab.tolist()], dtype=str)
    return lab.astype(str)


def block_layout_ok(block):
    """Whether ``block`` looks like the canonical layout (one Segment with an Epoch "trials")."""
    return (len(block.segments) == 1 and any(ep.name == "trials" for ep in block.segments[0].epochs))


def common_window_ms(trains, argument, first_name, fix):
    """(t_start, t_stop) in ms shared by all ``trains``; DataFormatError naming the first that differs.

    ``argument`` is a format string with ``{k}`` for the train's index; ``first_name`` names train 0
    in the message.
    """
    t0s = [to_float_ms(st.t_start) for st in trains]
    t1s = [to_float_ms(st.t_stop) for st in trains]
    for k, (a, b) in enumerate(zip(t0s, t1s)):
        if a != t0s[0] or b != t1s[0]:
            raise input_error(f"{argument.format(k=k)} ({trains[k].name!r})",
                              f"t_start {t0s[0]} ms and t_stop {t1s[0]} ms like {first_name}",
                              f"t_start {a} ms, t_stop {b} ms", fix, cls=DataFormatError)
    return t0s[0], t1s[0]


def from_block(block):
    """Convert a canonical ``neo.Block`` (see the module docstring) back to a :class:`SpikeRecord`.

    Blocks of other layouts (one Segment per trial, files of other tools) go through
    :func:`synsem_ephys.adapters.neo_generic.record_from_neo_block`.

    Raises
    ------
    DataFormatError
        If the Block does not follow the layout, or its spike trains disagree in ``t_start``/``t_stop``.
    """
    import neo

    if not isinstance(block, neo.Block):
        raise input_error("block", "a neo.Block", type(block).__name__)
    if not block_layout_ok(block):
        raise input_error("block", "the synsem_ephys layout: one Segment with an Epoch named 'trials'",
                          f"{len(block.segments)} segments", "Use synsem_ephys.adapters.neo_generic for other layouts.",
                          cls=DataFormatError)
    seg = block.segments[0]
    ann = block.annotations
    ep = next(e for e in seg.epochs if e.name == "trials")
    starts = to_float_ms(ep.times)
    starts = np.atleast_1d(starts)
    durations = np.atleast_1d(to_float_ms(ep.durations)) if len(ep) else np.zeros(0)
    n_trials = len(starts)
    if n_trials > 1 and np.any(np.diff(starts) <= 0):
        raise input_error("block epoch 'trials'", "increasing trial start times", "unsorted times", cls=DataFormatError)
    dur = float(ann.get("trial_duration_ms", durations.max() if n_trials else 1.0))
    trains = list(seg.spiketrains)
    common_window_ms(trains, "block spiketrain {k}", "spiketrain 0", "All units must span the same recording.")
    times, uidx, ridx = [], [], []
    for u, st in enumerate(trains):
        t = np.atleast_1d(to_float_ms(st.times)) if len(st) else np.zeros(0)
        if "trial" in st.array_annotations:
            r = np.asarray(st.array_annotations["trial"], dtype=np.int64)
        else:  # not written by us: assign spikes to the epoch they fall in
            r = np.searchsorted(starts, t, side="right") - 1
        if t.size and (r.min() < 0 or r.max() >= n_trials):
            raise input_error(f"spiketrain {st.name!r} trial annotation", f"trials in [0, {n_trials})",
                              f"range [{r.min()}, {r.max()}]", cls=DataFormatError)
        rel = t - starts[r]
        over = rel >= dur
        if np.any(over):  # one-ulp rounding of offset + time: clamp, anything larger is an error
            if np.any(rel[over] - dur > 4 * np.spacing(np.abs(t[over]) + dur)):
                raise input_error(f"spiketrain {st.name!r}", f"spikes inside their trial (< {dur} ms after its start)",
                                  f"{int(over.sum())} spikes later", cls=DataFormatError)
            rel[over] = np.nextafter(dur, 0)
        if np.any(rel < 0):
            raise input_error(f"spiketrain {st.name!r}", "spikes after the start of their trial",
                              f"{int(np.sum(rel < 0))} spikes before it", cls=DataFormatError)
        times.append(rel)
        uidx.append(np.full(t.size, u, np.int64))
        ridx.append(r)
    cat = (lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt))
    units = _units_from_trains(trains, ann.get("unit_columns", []))
    trials = _trials_from_epoch(ep, ann, durations, dur)
    meta = json.loads(ann["meta_json"]) if "meta_json" in ann else {
        "source": str(block.file_origin or block.name or "neo.Block")}
    events = {}
    for ev in seg.events:
        if ev.name == "stimulus_onset" or ev.name not in ann.get("event_names", []):
            continue
        t = np.atleast_1d(to_float_ms(ev.times)) if len(ev) else np.zeros(0)
        r = np.asarray(ev.array_annotations.get("trial", np.searchsorted(starts, t, side="right") - 1), np.int64)
        events[ev.name] = EventTimes(t - starts[r] if t.size else t, r)
    return SpikeRecord(cat(times, np.float64), cat(uidx, np.int64), cat(ridx, np.int64), units, trials, dur, meta, events)


def _units_from_trains(trains, unit_columns):
    n = len(trains)
    get = (lambda key, default: [st.annotations.get(key, default(i)) for i, st in enumerate(trains)])
    names = [st.name if st.name else f"unit{i}" for i, st in enumerate(trains)]
    columns = {key: [st.annotations[key] for st in trains] for key in unit_columns if all(key in st.annotations for st in trains)}
    return UnitTable(name=names, population=get("source_population", lambda i: "unit"),
                     layer=get("layer", lambda i: -1), cell_type=get("cell_type", lambda i: "unknown"),
                     index_in_population=get("source_index", lambda i: i), channel_id=get("channel_id", lambda i: i),
                     columns=columns) if n else UnitTable.simple(0)


def _trials_from_epoch(ep, ann, durations, dur):
    aa = ep.array_annotations
    n = len(ep)
    cols = {key: aa[key] for key in aa if key not in _TRIAL_KEYS}
    order = list(ann.get("trial_columns", [])) or list(cols)
    cols = {key: cols[key] for key in order if key in cols}
    if "duration_ms" not in cols and n and np.any(durations != dur):
        cols["duration_ms"] = durations
    return TrialTable(label=aa.get("label", np.full(n, -1)), prediction=aa.get("prediction", np.full(n, -1)),
                      decision_time_ms=aa.get("decision_time_ms", np.full(n, np.inf)), columns=cols,
                      label_names=tuple(ann.get("label_names", ())))
