"""SpikeRecord <-> neo.Block, both directions, following the layout contract of :mod:`synsem_ephys.io.layout`.

:func:`to_block` writes the canonical one-Segment Block. Its signals (only a record with signals has any):
one ``AnalogSignal`` (regular) or ``IrregularlySampledSignal`` per signal and trial, on the Block's clock
(``offset_r + t``), annotated ``signal_name``, ``trial`` and the exact trial-relative start ``trial_time_ms`` (regular)
or times ``trial_times_ms``; the Block annotation ``signals_json`` describes every signal (unit as the source
spells it, rate, dtype, channel names, kind, attributes). A canonical Block of another tool has its signals
cut by the Epoch "trials". :func:`from_block` reads any Block: the canonical
layout exactly, and any other layout (files of other tools, PyNN's ``get_data()``) as **one Segment per
trial**:

- units are matched across Segments by SpikeTrain ``name`` when every train has a distinct name,
  otherwise by position (then every Segment must hold the same number of trains);
- trial ``r`` spans ``[t_start, t_stop]`` of its trains (which must agree inside a Segment: a clear error
  otherwise); within-trial time is ``t - t_start``; trains in s or ms are both converted to ms;
- Segments of unequal length are kept: ``trial_duration_ms`` is the longest, each trial's own length
  is the column ``duration_ms``; a spike exactly at ``t_stop`` (allowed by Neo) stays in its trial,
  whose duration is then widened by one ulp;
- Segment annotations holding a scalar in every Segment become trial columns, the Segment name
  becomes the column ``segment_name``; Events become record events (by name);
- ``AnalogSignal`` s (regular) and ``IrregularlySampledSignal`` s become record signals (by name, else
  ``signal<k>`` by position): the samples inside each Segment's trial, trial-relative; samples outside are
  counted in ``meta['n_signal_samples_outside_trials']``;
- unit annotations are taken from the first Segment's trains through
  :func:`~synsem_ephys.io.layout.units_from_annotations` (the same rule as the canonical path); other
  annotations are not carried over.
"""


import json
from typing import NamedTuple

import numpy as np

from ..errors import DataFormatError, input_error
from ..record import EventTimes, Signal, SpikeRecord, TrialTable
from ..units import to_float_ms, to_quantity_ms
from . import layout as L
from .canonical import SIGNALS_ANNOTATION, CanonicalTag, canonical_block

__all__ = ["to_block", "from_block", "signal_to_neo", "SIGNALS_ANNOTATION", "record_from_canonical", "CanonicalTrain"]


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
    c = canonical_block(record, name=name, description=description, gap_ms=gap_ms, file_origin=file_origin,
                        rec_datetime=rec_datetime)
    block = neo.Block(name=c.name, description=c.description, file_origin=c.file_origin,
                      rec_datetime=c.rec_datetime, **c.annotations)
    seg = neo.Segment(name=c.segment_name, index=0)
    block.segments.append(seg)
    t_start, t_stop = to_quantity_ms(0.0), to_quantity_ms(c.t_stop_ms)
    trains = []
    for u in range(c.n_units):
        times, arrays = c.train_arrays(u)
        trains.append(neo.SpikeTrain(to_quantity_ms(times), t_start=t_start, t_stop=t_stop, name=c.unit_names[u],
                                     array_annotations=arrays, **c.unit_annotations[u]))
    seg.spiketrains.extend(trains)
    for ep in c.epochs:
        seg.epochs.append(neo.Epoch(times=to_quantity_ms(ep.times_ms), durations=to_quantity_ms(ep.durations_ms),
                                    labels=ep.labels, name=ep.name, array_annotations=ep.array_annotations))
    for ev in c.events:
        seg.events.append(neo.Event(times=to_quantity_ms(ev.times_ms), labels=ev.labels, name=ev.name,
                                    array_annotations=ev.array_annotations))
    if record.signals:
        _append_signals(seg, record, c.offsets_ms)
    for g in c.groups:
        block.groups.append(neo.Group(objects=[trains[i] for i in g.members], name=g.name,
                                      allowed_types=[neo.SpikeTrain], **g.annotations))
    block.check_relationships()
    return block


def from_block(block, *, label_annotation=None):
    """Convert any ``neo.Block`` to a :class:`SpikeRecord` (see the module docstring for the rules).

    Parameters
    ----------
    block : neo.Block
        The canonical layout (one Segment with an Epoch "trials") is read exactly; any other Block as
        one Segment per trial.
    label_annotation : str, optional
        For a Block of one Segment per trial: the Segment annotation whose values become class labels
        (sorted; names in ``label_names``). Ignored for the canonical layout, whose labels are stored.

    Raises
    ------
    DataFormatError
        If the Block's spike trains disagree in ``t_start``/``t_stop`` where they must agree, or a
        spike lies outside its trial.
    """
    import neo

    if not isinstance(block, neo.Block):
        raise input_error("block", "a neo.Block", type(block).__name__)
    if L.block_layout_ok(block):
        return _from_canonical(block)
    return _from_segments(block, label_annotation)


class CanonicalTrain(NamedTuple):
    """A SpikeTrain of a canonical Block as plain values (times in ms)."""

    name: object
    times_ms: np.ndarray
    t_start_ms: float
    t_stop_ms: float
    annotations: dict
    array_annotations: dict


def _from_canonical(block):
    seg = block.segments[0]
    ep = next(e for e in seg.epochs if e.name == L.TRIALS_EPOCH)
    epoch = CanonicalTag(ep.name, np.atleast_1d(to_float_ms(ep.times)), None, ep.array_annotations,
                         np.atleast_1d(to_float_ms(ep.durations)) if len(ep) else np.zeros(0))
    trains = [CanonicalTrain(st.name, np.atleast_1d(to_float_ms(st.times)) if len(st) else np.zeros(0),
                             to_float_ms(st.t_start), to_float_ms(st.t_stop), st.annotations, st.array_annotations)
              for st in seg.spiketrains]
    events = [CanonicalTag(ev.name, np.atleast_1d(to_float_ms(ev.times)) if len(ev) else np.zeros(0), None,
                           ev.array_annotations) for ev in seg.events]
    return record_from_canonical(
        block.annotations, str(block.file_origin or block.name or "neo.Block"), epoch, trains, events,
        lambda starts, durations, n_trials: _canonical_signals(block, seg, starts, durations, n_trials))


def record_from_canonical(ann, source, epoch, trains, events, signals=None):
    """The SpikeRecord of a canonical Block given as plain values: its annotations ``ann``, ``source`` (meta's
    fallback), the Epoch "trials" and the Events as :class:`~synsem_ephys.io.canonical.CanonicalTag` (times in
    ms), the SpikeTrains as :class:`CanonicalTrain`; ``signals(starts, durations, n_trials)`` gives (signals,
    samples outside the trials). :func:`from_block` of a canonical Block, and the NIX reader without neo objects."""
    starts, durations = epoch.times_ms, epoch.durations_ms
    n_trials = len(starts)
    if n_trials > 1 and np.any(np.diff(starts) <= 0):
        raise input_error("block epoch 'trials'", "increasing trial start times", "unsorted times", cls=DataFormatError)
    dur = float(ann.get("trial_duration_ms", durations.max() if n_trials else 1.0))
    L.common_window_of([st.t_start_ms for st in trains], [st.t_stop_ms for st in trains], [st.name for st in trains],
                       "block spiketrain {k}", "spiketrain 0", "All units must span the same recording.")
    times, uidx, ridx = [], [], []
    for u, st in enumerate(trains):
        t = st.times_ms
        arrays = st.array_annotations
        if "trial" in arrays:
            r = np.asarray(arrays["trial"], dtype=np.int64)
        else:  # not written by us: assign spikes to the epoch they fall in
            r = np.searchsorted(starts, t, side="right") - 1
        if t.size and (r.min() < 0 or r.max() >= n_trials):
            raise input_error(f"spiketrain {st.name!r} trial annotation", f"trials in [0, {n_trials})",
                              f"range [{r.min()}, {r.max()}]", cls=DataFormatError)
        rel = t - starts[r]
        stored = arrays.get(L.TRIAL_TIME_ANNOTATION)
        if stored is not None and len(stored) == t.size:  # the exact trial-relative times written by to_block
            stored = np.asarray(stored, np.float64)
            if t.size and np.any(np.abs(stored - rel) > 4 * np.spacing(np.abs(t) + dur) + 1e-9):
                raise input_error(f"spiketrain {st.name!r} {L.TRIAL_TIME_ANNOTATION}",
                                  "trial-relative times agreeing with the spike times and trial starts",
                                  f"max difference {np.max(np.abs(stored - rel)):.3g} ms",
                                  "The Block was changed after it was written; drop the annotation to re-derive "
                                  "the times.", cls=DataFormatError)
            rel = stored.copy()
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
    names = [st.name if st.name else f"unit{i}" for i, st in enumerate(trains)]
    units = L.units_from_annotations(names, [st.annotations for st in trains], ann.get("unit_columns", []))
    trials = _trials_from_epoch(epoch.array_annotations, n_trials, ann, durations, dur)
    meta = L.parse_meta(ann, {"source": source})
    by_name = {}
    for ev in events:
        if ev.name == L.STIMULUS_EVENT or ev.name not in ann.get("event_names", []):
            continue
        t = ev.times_ms
        r = np.asarray(ev.array_annotations.get("trial", np.searchsorted(starts, t, side="right") - 1), np.int64)
        by_name[ev.name] = EventTimes(t - starts[r] if t.size else t, r)
    events = by_name
    signals, outside = signals(starts, durations, n_trials) if signals is not None else ({}, {})
    if outside:
        meta = dict(meta, n_signal_samples_outside_trials=outside)
    return SpikeRecord(cat(times, np.float64), cat(uidx, np.int64), cat(ridx, np.int64), units, trials, dur, meta, events,
                       signals)


def _trials_from_epoch(aa, n, ann, durations, dur):
    cols = {key: aa[key] for key in aa if key not in L.TRIAL_FIELDS}
    order = list(ann.get("trial_columns", [])) or list(cols)
    cols = {key: cols[key] for key in order if key in cols}
    if "duration_ms" not in cols and n and np.any(durations != dur):
        cols["duration_ms"] = durations
    return TrialTable(label=aa.get("label", np.full(n, -1)), prediction=aa.get("prediction", np.full(n, -1)),
                      decision_time_ms=aa.get("decision_time_ms", np.full(n, np.inf)), columns=cols,
                      label_names=tuple(ann.get("label_names", ())))


def _from_segments(block, label_annotation):
    segs = [s for s in block.segments]
    if not segs:
        raise input_error("block", "at least one Segment", "none", cls=DataFormatError)
    names = [[st.name for st in s.spiketrains] for s in segs]
    by_name = all(all(n for n in ns) and len(set(ns)) == len(ns) for ns in names)
    if by_name:
        unit_names = list(dict.fromkeys(n for ns in names for n in ns))
        for k, ns in enumerate(names):
            if set(ns) != set(unit_names):
                raise input_error(f"block.segments[{k}]", f"the same units in every Segment ({len(unit_names)})",
                                  f"missing {sorted(set(unit_names) - set(ns))[:5]}", cls=DataFormatError)
    else:
        counts = {len(ns) for ns in names}
        if len(counts) != 1:
            raise input_error("block.segments", "the same number of unnamed SpikeTrains in every Segment",
                              f"counts {sorted(counts)}", "Name the trains so units can be matched.",
                              cls=DataFormatError)
        unit_names = [f"unit{i}" for i in range(counts.pop())]
    index = {n: i for i, n in enumerate(unit_names)}
    times, uidx, ridx, durations, starts = [], [], [], [], []
    events, sig_pieces, sig_fields, sig_outside = {}, {}, {}, {}
    for r, seg in enumerate(segs):
        t0, t1 = _segment_window(seg, r)
        dur = t1 - t0
        for pos, st in enumerate(seg.spiketrains):
            t = np.atleast_1d(to_float_ms(st.times)) if len(st) else np.zeros(0)
            rel = t - t0
            if rel.size and rel.max() >= dur:
                dur = max(dur, float(np.nextafter(rel.max(), np.inf)))
            times.append(rel)
            uidx.append(np.full(t.size, index[st.name] if by_name else pos))
            ridx.append(np.full(t.size, r))
        durations.append(dur)
        starts.append(t0)
        for ev in seg.events:
            t = np.atleast_1d(to_float_ms(ev.times)) if len(ev) else np.zeros(0)
            prev = events.setdefault(ev.name or "event", ([], []))
            prev[0].append(t - t0)
            prev[1].append(np.full(t.size, r))
        for k, obj in enumerate(_neo_signals(seg)):  # each Segment's signals: the samples inside its trial
            name = str(obj.name) if obj.name else f"signal{k}"
            sig_t, sig_t0, rate, values = _neo_signal_arrays(obj)
            piece, outside = Signal.cut(values, [t0], [t0 + dur], times_ms=sig_t, t_start_ms=sig_t0, sampling_rate_hz=rate)
            sig_pieces.setdefault(name, []).append((r, piece))
            sig_fields.setdefault(name, _foreign_fields(obj))
            if outside:
                sig_outside[name] = sig_outside.get(name, 0) + outside
    durations = np.asarray(durations)
    cols = {"segment_name": np.array([str(s.name or "") for s in segs]), "source_start_ms": np.asarray(starts)}
    if np.any(durations != durations.max()):
        cols["duration_ms"] = durations
    cols.update(_segment_columns(segs))
    label, label_names = np.full(len(segs), -1), ()
    if label_annotation is not None:
        if label_annotation not in cols:
            raise input_error("label_annotation", f"a Segment annotation present in every Segment, among {sorted(cols)}",
                              repr(label_annotation))
        label_names, label = np.unique(cols[label_annotation].astype(str), return_inverse=True)
        label_names = tuple(label_names.tolist())
    first = {st.name if by_name else f"unit{i}": st for i, st in enumerate(segs[0].spiketrains)}
    units = L.units_from_annotations(unit_names, [first[nm].annotations if nm in first else {} for nm in unit_names])
    trials = TrialTable(label, columns=cols, label_names=label_names)
    ev = {k: EventTimes(np.concatenate(a), np.concatenate(b)) for k, (a, b) in events.items()}
    meta = {"source": str(block.file_origin or block.name or "neo.Block"), "block_name": str(block.name or "")}
    if sig_outside:
        meta["n_signal_samples_outside_trials"] = sig_outside
    signals = {name: _merge_pieces(p, sig_fields[name]) for name, p in sig_pieces.items()}
    cat = (lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt))
    return SpikeRecord(cat(times, float), cat(uidx, np.int64), cat(ridx, np.int64), units, trials,
                       float(durations.max()), meta, ev, signals)


def _segment_window(seg, r):
    trains = seg.spiketrains
    if not trains:
        raise input_error(f"block.segments[{r}]", "at least one SpikeTrain", "none", cls=DataFormatError)
    try:
        return L.common_window_ms(trains, f"block.segments[{r}].spiketrains[{{k}}]", "the Segment's first train",
                                "Cut the trains to a common window.")
    except DataFormatError:
        raise
    except ValueError as exc:
        raise input_error(f"block.segments[{r}] spiketrains", "times in a time unit", str(exc),
                          cls=DataFormatError) from exc


def _segment_columns(segs):
    keys = set.intersection(*(set(s.annotations) for s in segs)) - {"nix_name"}
    out = {}
    for key in sorted(keys):
        vals = [s.annotations[key] for s in segs]
        if all(isinstance(v, (int, float, str, bool, np.integer, np.floating, np.bool_)) for v in vals):
            arr = np.asarray(vals)
            if arr.dtype.kind in "biufU":
                out[str(key)] = arr
    return out


# ---------------------------------------------------------------------------------------------- signals


def _neo_units(unit):
    """The quantities unit of a signal's unit string, or dimensionless when quantities does not know it."""
    import quantities as pq

    try:
        return pq.Quantity(1.0, unit).units if unit else pq.dimensionless
    except Exception:  # noqa: BLE001 - quantities raises SyntaxError, LookupError, ValueError ... for "a.u."
        return pq.dimensionless


def signal_to_neo(signal, name, trial, offset_ms=0.0):
    """The samples of one trial of ``signal`` as a neo ``AnalogSignal`` (regular) or ``IrregularlySampledSignal``.

    Times are ``offset_ms + times_ms`` (0: trial-relative, as in the per-trial view; ``offset_r``: the canonical
    Block). Annotations ``signal_name``, ``trial``, the exact trial-relative start ``trial_time_ms``
    (regular) or times ``trial_times_ms`` (irregular), ``sampling_rate_hz`` and ``unit`` (as the source spells it);
    ``channel_names`` as a per-channel array annotation. None when the trial has no samples.
    """
    import neo
    import quantities as pq

    t, v = signal.piece(trial)
    if not t.size:
        return None
    v2 = v.reshape(v.shape[0], -1)
    ann = dict(signal_name=str(name), trial=int(trial), unit=signal.unit, kind=signal.kind)
    arr = {"channel_names": np.asarray(signal.channel_names)} if signal.channel_names else {}
    units = _neo_units(signal.unit)
    if signal.sampling_rate_hz is not None:
        ann.update(trial_time_ms=float(t[0]), sampling_rate_hz=float(signal.sampling_rate_hz))
        return neo.AnalogSignal(v2, units=units, sampling_rate=signal.sampling_rate_hz * pq.Hz,
                                t_start=to_quantity_ms(offset_ms + float(t[0])), name=str(name),
                                description=signal.description or None, array_annotations=arr, **ann)
    ann["trial_times_ms"] = np.array(t, np.float64)
    return neo.IrregularlySampledSignal(to_quantity_ms(offset_ms + t), v2, units=units, time_units=pq.ms,
                                        name=str(name), description=signal.description or None,
                                        array_annotations=arr, **ann)


def _append_signals(seg, record, offsets):
    for name, sig in record.signals.items():
        for r in np.unique(sig.trial_index).tolist():
            seg_obj = signal_to_neo(sig, name, r, offsets[r])
            (seg.analogsignals if sig.sampling_rate_hz is not None else seg.irregularlysampledsignals).append(seg_obj)


def _neo_signals(seg):
    return list(seg.analogsignals) + list(seg.irregularlysampledsignals)


def _neo_signal_arrays(obj):
    """``(times_ms or None, t_start_ms, rate_hz or None, values)`` of a neo signal."""
    import neo

    values = np.asarray(obj.magnitude)
    if isinstance(obj, neo.AnalogSignal):
        return None, float(to_float_ms(obj.t_start)), float(obj.sampling_rate.rescale("Hz").magnitude), values
    return np.atleast_1d(to_float_ms(obj.times)), None, None, values


def _foreign_fields(obj):
    unit = obj.units.dimensionality.string if obj.units.dimensionality.string != "dimensionless" else ""
    names = obj.array_annotations.get("channel_names")
    return dict(unit=unit, description=str(obj.description or ""), kind=type(obj).__name__,
                channel_names=tuple(str(c) for c in names) if names is not None else ())


def _foreign_name(obj, k, taken):
    name = str(obj.name) if obj.name else f"signal{k}"
    while name in taken:
        name += f"_{k}"
    return name


def _merge_pieces(pieces, fields):
    """One Signal from per-trial pieces ``[(trial, Signal), ...]`` (regular when every piece has one rate)."""
    pieces = sorted(pieces, key=lambda p: p[0])
    rates = {p.sampling_rate_hz for _, p in pieces}
    vals = [p.values for _, p in pieces]
    if len({v.shape[1:] for v in vals}) > 1:
        raise input_error("block signals", "pieces of one signal with the same channels",
                          sorted({v.shape[1:] for v in vals}), cls=DataFormatError)
    values = np.concatenate(vals, axis=0)
    trial = np.concatenate([np.full(p.n_samples, r, np.int64) for r, p in pieces])
    times = np.concatenate([p.times_ms for _, p in pieces])
    rate = rates.pop() if len(rates) == 1 else None
    return Signal(values, trial, times, rate, **fields)


def _canonical_signals(block, seg, starts, durations, n_trials):
    """Signals of a canonical Block: ours from their annotations, exactly; foreign ones cut by the trials."""
    spec = json.loads(block.annotations[SIGNALS_ANNOTATION]) if SIGNALS_ANNOTATION in block.annotations else {}
    pieces = {name: [] for name in spec}
    foreign, meta = {}, {}
    for k, obj in enumerate(_neo_signals(seg)):
        name = obj.annotations.get("signal_name")
        if name in spec and "trial" in obj.annotations:
            d = spec[name]
            r = int(obj.annotations["trial"])
            vals = np.asarray(obj.magnitude).astype(d["dtype"], copy=False).reshape((-1, *d["shape_tail"]))
            if "trial_time_ms" in obj.annotations:
                p = Signal.regular(vals, d["sampling_rate_hz"], obj.annotations["trial_time_ms"])
            else:
                p = Signal(vals, np.zeros(vals.shape[0], np.int64), np.asarray(obj.annotations["trial_times_ms"], float))
            pieces[name].append((r, p))
            continue
        times, t0, rate, values = _neo_signal_arrays(obj)
        sig, outside = Signal.cut(values, starts, starts + durations, times_ms=times, t_start_ms=t0,
                                  sampling_rate_hz=rate, **_foreign_fields(obj))
        name = _foreign_name(obj, k, set(spec) | set(foreign))
        foreign[name] = sig
        if outside:
            meta[name] = outside
    out = {}
    for name, d in spec.items():
        fields = dict(unit=d["unit"], channel_names=tuple(d["channel_names"]), description=d["description"],
                      kind=d["kind"], attrs=d["attrs"])
        if pieces[name]:
            out[name] = _merge_pieces(pieces[name], fields)
        else:
            out[name] = Signal(np.zeros((0, *d["shape_tail"]), d["dtype"]), np.zeros(0, np.int64), np.zeros(0),
                               d["sampling_rate_hz"], **fields)
    out.update(foreign)
    return out, meta
