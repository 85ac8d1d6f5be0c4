"""Any file ``neo.io`` reads, or any ``neo.Block``, into a SpikeRecord (generic path).

A Block in the synsem_ephys layout (one Segment, Epoch "trials") is read exactly with
:func:`synsem_ephys.neo_io.from_block`. Any other Block is read as **one Segment per trial**:

- units are matched across Segments by SpikeTrain ``name`` when every train has a distinct name,
  otherwise by position (then every Segment must hold the same number of trains);
- trial ``r`` spans ``[t_start, t_stop]`` of its trains (which must agree inside a Segment: a clear error
  otherwise); within-trial time is ``t - t_start``; trains in s or ms are both converted to ms;
- Segments of unequal length are kept: ``trial_duration_ms`` is the longest, each trial's own length
  is the column ``duration_ms``; a spike exactly at ``t_stop`` (allowed by Neo) stays in its trial,
  whose duration is then widened by one ulp;
- Segment annotations holding a scalar in every Segment become trial columns, the Segment name
  becomes the column ``segment_name``; Events become record events (by name);
- unit annotations are taken from the first Segment's trains in PyNN's style (``source_population``,
  ``source_index``, ``channel_id``, ``layer``, ``cell_type``); a ``cell_type`` outside
  :data:`~synsem_ephys.record.CELL_TYPES` becomes "unknown", the original kept as the unit column
  ``source_cell_type``; other annotations are not carried over.
"""

import numpy as np

from synsem_ephys.errors import DataFormatError, input_error
from synsem_ephys.export.block import common_window_ms
from synsem_ephys.record import CELL_TYPES, EventTimes, SpikeRecord, TrialTable, UnitTable
from synsem_ephys.units import to_float_ms

from ._common import require_path

__all__ = ["load_neo", "record_from_neo_block"]


def load_neo(path, *, block_index=0, io_class=None, label_annotation=None):
    """Read ``path`` with neo.io (``io_class`` or the class neo picks from the extension) into a SpikeRecord."""
    import neo

    path = require_path(path, "neo-readable")
    try:
        io = io_class(str(path)) if io_class is not None else neo.io.get_io(str(path))
    except Exception as exc:
        raise input_error("path", "a file format neo.io can read", f"{path} ({type(exc).__name__}: {exc})",
                          "Pass io_class=neo.io.<SomeIO>.", cls=DataFormatError) from exc
    try:
        blocks = io.read_all_blocks() if hasattr(io, "read_all_blocks") else [io.read_block()]
    except Exception as exc:
        raise input_error("path", f"a file {type(io).__name__} can read", f"{path} ({type(exc).__name__}: {exc})",
                          cls=DataFormatError) from exc
    finally:
        if hasattr(io, "close"):
            io.close()
    if not 0 <= block_index < len(blocks):
        raise input_error("block_index", f"an index in [0, {len(blocks)})", block_index, cls=DataFormatError)
    return record_from_neo_block(blocks[block_index], label_annotation=label_annotation)


def record_from_neo_block(block, *, label_annotation=None):
    """Convert any neo.Block to a SpikeRecord (see the module docstring for the rules)."""
    import neo

    from synsem_ephys.neo_io import LAYOUT, block_layout_ok, from_block

    if not isinstance(block, neo.Block):
        raise input_error("block", "a neo.Block", type(block).__name__)
    if block_layout_ok(block) and block.annotations.get("synsem_layout") == LAYOUT:
        return from_block(block)
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
    events = {}
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
    units = _units(unit_names, first)
    trials = TrialTable(label, columns=cols, label_names=label_names)
    ev = {k: EventTimes(np.concatenate(a), np.concatenate(b)) for k, (a, b) in events.items()}
    meta = {"source": str(block.file_origin or block.name or "neo.Block"), "block_name": str(block.name or "")}
    cat = (lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt))
    return SpikeRecord(cat(times, float), cat(uidx, np.int64), cat(ridx, np.int64), units, trials,
                       float(durations.max()), meta, ev)


def _segment_window(seg, r):
    trains = seg.spiketrains
    if not trains:
        raise input_error(f"block.segments[{r}]", "at least one SpikeTrain", "none", cls=DataFormatError)
    try:
        return common_window_ms(trains, f"block.segments[{r}].spiketrains[{{k}}]", "the Segment's first train",
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


def _units(unit_names, first):
    ann = [first[nm].annotations if nm in first else {} for nm in unit_names]
    pop = [str(a.get("source_population", "unit")) for a in ann]
    source_ctype = [str(a.get("cell_type", "unknown")) for a in ann]
    ctype = [c if c in CELL_TYPES else "unknown" for c in source_ctype]
    columns = {"source_cell_type": np.array(source_ctype)} if ctype != source_ctype else {}
    chan = [a.get("channel_id", i) for i, a in enumerate(ann)]
    chan = [int(c) if isinstance(c, (int, np.integer)) else i for i, c in enumerate(chan)]
    return UnitTable(name=unit_names, population=pop, layer=[int(a.get("layer", -1)) for a in ann], cell_type=ctype,
                     index_in_population=[int(a.get("source_index", i)) for i, a in enumerate(ann)],
                     channel_id=chan, columns=columns)
