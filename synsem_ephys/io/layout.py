"""The Neo layout contract, declared once as data; every reader and writer of the package goes through it.

Canonical Block of a :class:`~synsem_ephys.record.SpikeRecord` (one Segment)::

    stride_ms       = trial_duration_ms + gap_ms            gap_ms = default_gap_ms(trial_duration_ms)
    trial r starts at offset_r = r * stride_ms;   block time = offset_r + times_ms
    SpikeTrain u    : all spikes of unit u, sorted, in pq.ms, t_start 0, t_stop n_trials * stride_ms,
                      array annotation ``trial``; annotations UNIT_ANNOTATIONS (+ extra unit columns)
    Epoch "trials"  : times offset_r, durations, labels = class names, array annotations TRIAL_FIELDS
                      + trial columns
    Event "stimulus_onset": offset_r + stimulus_onset_ms for trials with a finite onset
    Event <name>    : one per record event kind (array annotation ``trial``)
    Group per population; Block annotations carry provenance (PROVENANCE_KEYS) and the layout's parameters.

The gap keeps every spike off a trial boundary. Going back, ``times_ms = block time - offset_r`` is
exact only up to half an ulp of the block time (~1e-13 ms at 1e3 ms, ~1e-10 ms at 1e6 ms), which is
enough to move a spike that sits exactly on a decision time across it. So every SpikeTrain also carries
the trial-relative times themselves as the per-spike array annotation ``trial_time_ms``
(:data:`TRIAL_TIME_ANNOTATION`), and the reader takes them when present (checking that they agree with
the block times to that rounding): a record read back from a Block or NIX file of ours holds bit for bit
the trial-relative times it was written with.

NWB files carry the same contract in their own containers (:mod:`synsem_ephys.io.nwb`): the Units table
holds the unit annotations as columns (``name`` as ``unit_name``), the trials table the trial fields,
and the file's ``notes`` the Block annotations as JSON.
"""

import json

import numpy as np

from .._files import json_dumps, payload_sha256
from ..errors import DataFormatError, input_error
from ..record import CELL_TYPES, UnitTable

__all__ = ["LAYOUT", "UNIT_ANNOTATIONS", "UNIT_DEFAULTS", "UNIT_FIELDS", "TRIAL_FIELDS", "TRIAL_TIME_ANNOTATION", "TRIALS_EPOCH", "STIMULUS_EVENT", "PROVENANCE_KEYS", "LIST_ANNOTATIONS", "restore_list_annotations", "default_gap_ms",
           "trial_offsets_ms", "unit_annotations", "units_from_annotations", "label_strings", "meta_json",
           "spec_json", "block_layout_ok", "is_ours", "common_window_ms", "common_window_of", "assert_block_follows_layout",
           "parse_meta", "PAYLOAD_CHECKSUM", "record_checksum", "check_record_checksum"]

#: Value of the Block annotation ``synsem_layout`` (and of the NWB notes' key) written by this package.
LAYOUT = "synsem_ephys.trials_end_to_end.v1"

#: SpikeTrain annotations of a unit (PyNN's style plus layer and cell type) -> the UnitTable field holding it.
UNIT_ANNOTATIONS = {"source_population": "population", "source_index": "index_in_population",
                    "channel_id": "channel_id", "layer": "layer", "cell_type": "cell_type"}

#: UnitTable fields in its constructor's order: the columns of an NWB Units table written by this package.
UNIT_FIELDS = ("name", "population", "layer", "cell_type", "index_in_population", "channel_id")

#: What a reader assumes for a unit annotation that a foreign Block lacks (``i`` = the unit's position).
UNIT_DEFAULTS = {"source_population": lambda i: "unit", "source_index": lambda i: i, "channel_id": lambda i: i,
                 "layer": lambda i: -1, "cell_type": lambda i: "unknown"}

#: Per-spike array annotation of a SpikeTrain: the spike's time relative to its trial's start, in ms.
TRIAL_TIME_ANNOTATION = "trial_time_ms"

#: Per-trial fields of the TrialTable, stored as array annotations of the Epoch "trials" (and NWB trial columns).
TRIAL_FIELDS = ("label", "prediction", "decision_time_ms")

TRIALS_EPOCH = "trials"
STIMULUS_EVENT = "stimulus_onset"

#: Provenance keys of ``record.meta`` that the layout lifts into Block annotations. The simulator writes
#: ``spec`` (the NetworkSpec as JSON) and ``package_version``; older records spell them ``spec_json`` and
#: ``version``: :func:`spec_json` reads both, in this order.
PROVENANCE_KEYS = {"spec_json": ("spec", "spec_json"), "package_version": ("package_version", "version"),
                   "seed": ("seed",)}

#: Block annotations that are lists (NIX returns them as tuples or, when empty, as "").
LIST_ANNOTATIONS = ("label_names", "trial_columns", "unit_columns", "event_names")


def restore_list_annotations(annotations):
    """:data:`LIST_ANNOTATIONS` in ``annotations`` (a dict, changed in place) back to lists: NIX gives them back as
    tuples of scalars, one value, or "" when empty."""
    for key in LIST_ANNOTATIONS:
        if key in annotations:
            val = annotations[key]
            annotations[key] = [] if isinstance(val, str) and not val else list(np.atleast_1d(val).tolist())


def default_gap_ms(trial_duration_ms):
    """The silence between trials when none is given: ``max(1 ms, 0.1 * trial_duration_ms)``."""
    return max(1.0, 0.1 * float(trial_duration_ms))


def trial_offsets_ms(n_trials, trial_duration_ms, gap_ms):
    """Block start time of each trial, ``r * (trial_duration_ms + gap_ms)``."""
    return np.arange(n_trials, dtype=np.float64) * (float(trial_duration_ms) + float(gap_ms))


def unit_annotations(units, u):
    """The SpikeTrain annotations of row ``u`` of a UnitTable (:data:`UNIT_ANNOTATIONS`, plain Python types)."""
    ann = {}
    for key, fld in UNIT_ANNOTATIONS.items():
        v = getattr(units, fld)[u]
        ann[key] = str(v) if fld in ("population", "cell_type") else int(v)
    return ann


def units_from_annotations(names, annotations, unit_columns=()):
    """A UnitTable from per-unit annotation dicts (the inverse of :func:`unit_annotations`).

    Missing annotations take :data:`UNIT_DEFAULTS`. A ``cell_type`` outside
    :data:`~synsem_ephys.record.CELL_TYPES` becomes ``"unknown"``, its original value kept in the unit
    column ``source_cell_type``; a non-integer ``channel_id`` becomes the unit's position. The keys of
    ``unit_columns`` present in every unit's annotations become unit columns.
    """
    n = len(names)
    if n == 0:
        return UnitTable.simple(0)
    get = {key: [a.get(key, UNIT_DEFAULTS[key](i)) for i, a in enumerate(annotations)] for key in UNIT_ANNOTATIONS}
    source_ctype = [str(c) for c in get["cell_type"]]
    ctype = [c if c in CELL_TYPES else "unknown" for c in source_ctype]
    columns = {key: [a[key] for a in annotations] for key in unit_columns if all(key in a for a in annotations)}
    if ctype != source_ctype:
        columns["source_cell_type"] = np.array(source_ctype)
    chan = [int(c) if isinstance(c, (int, np.integer)) else i for i, c in enumerate(get["channel_id"])]
    return UnitTable(name=[str(x) for x in names], population=[str(p) for p in get["source_population"]],
                     layer=[int(x) for x in get["layer"]], cell_type=ctype,
                     index_in_population=[int(x) for x in get["source_index"]], channel_id=chan, columns=columns)


def label_strings(trials):
    """The class name of each trial ("" for label -1), or the label as a string when there are no names."""
    names = trials.label_names
    lab = np.asarray(trials.label)
    if names:
        return np.array([names[k] if k >= 0 else "" for k in lab.tolist()], dtype=str)
    return lab.astype(str)


def meta_json(meta):
    """``record.meta`` as JSON (sorted keys, numpy values converted); input_error if it cannot be."""
    try:
        return json_dumps(meta, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise input_error("record.meta", "a JSON-serialisable dict", f"{exc}") from exc


#: Name of the annotation / notes key holding :func:`record_checksum` in files written by this package.
PAYLOAD_CHECKSUM = "payload_sha256"


def _canonical(values):
    """``values`` in the dtype every file format gives back: strings as a list of str, booleans as bool,
    integers as int64, floats as float64 (little-endian)."""
    arr = np.asarray(values)
    if arr.dtype.kind in "USO":
        return [str(v) for v in arr.ravel().tolist()]
    return arr.astype(bool if arr.dtype.kind == "b" else "<i8" if arr.dtype.kind in "iu" else "<f8")


def record_checksum(record):
    """SHA-256 (hex) of what a file of a record must give back: spikes, unit and trial tables, events, signals.

    Independent of the order in which the spikes are stored (they are hashed sorted by trial, unit, time)
    and of the numpy dtypes a file format chooses (:func:`_canonical`); ``meta`` is not part of it. It is the
    :func:`synsem_ephys._files.payload_sha256` of those arrays. Writers of this package store it as
    :data:`PAYLOAD_CHECKSUM`, and readers compare it with the record they rebuilt (:func:`check_record_checksum`):
    a bit flip in a file format without checksums of its own (HDF5) is then an error instead of a silently
    different recording.
    """
    order = np.lexsort((record.times_ms, record.unit_index, record.trial_index))
    payload = {"scheme": "synsem_ephys.record.v2", "trial_duration_ms": float(record.trial_duration_ms),
               "label_names": [str(n) for n in record.trials.label_names]}
    for name in ("times_ms", "unit_index", "trial_index"):
        payload[name] = _canonical(getattr(record, name)[order])
    payload["units"] = {f: _canonical(getattr(record.units, f)) for f in UNIT_FIELDS}
    payload["unit_columns"] = {k: _canonical(v) for k, v in record.units.columns.items()}
    payload["trials"] = {f: _canonical(getattr(record.trials, f)) for f in TRIAL_FIELDS}
    payload["trial_columns"] = {k: _canonical(v) for k, v in record.trials.columns.items()}
    payload["events"] = {}
    for key, ev in record.events.items():
        o = np.lexsort((ev.times_ms, ev.trial_index))
        payload["events"][key] = [_canonical(ev.times_ms[o]), _canonical(ev.trial_index[o])]
    payload["signals"] = {}
    for key, sig in record.signals.items():
        o = np.lexsort((sig.times_ms, sig.trial_index))
        payload["signals"][key] = [_canonical(np.asarray(sig.values)[o]), _canonical(sig.times_ms[o]),
                                   _canonical(sig.trial_index[o]), str(sig.sampling_rate_hz), sig.unit,
                                   [str(c) for c in sig.channel_names]]
    return payload_sha256(payload)


def check_record_checksum(record, stored, path, what):
    """DataFormatError naming ``path`` if ``stored`` (a checksum read from the file, or None) is not the record's."""
    if stored is None:
        return record
    if not isinstance(stored, str) or stored != record_checksum(record):
        raise input_error("path", f"a {what} file whose contents match the checksum stored in it",
                          f"{path}, whose recording differs from its {PAYLOAD_CHECKSUM}",
                          "The file was damaged after it was written: write it again from its source.",
                          cls=DataFormatError)
    return record


def spec_json(meta):
    """The network spec as JSON from a record's meta (either spelling, :data:`PROVENANCE_KEYS`), or None."""
    for key in PROVENANCE_KEYS["spec_json"]:
        if isinstance(meta.get(key), str):
            return meta[key]
    return None


def block_layout_ok(block):
    """Whether ``block`` looks like the canonical layout (one Segment with an Epoch "trials")."""
    return len(block.segments) == 1 and any(ep.name == TRIALS_EPOCH for ep in block.segments[0].epochs)


def is_ours(block):
    """Whether ``block`` is a canonical Block written by this package (layout and its version tag)."""
    return block_layout_ok(block) and block.annotations.get("synsem_layout") == LAYOUT


def common_window_ms(trains, argument, first_name, fix):
    """(t_start, t_stop) in ms shared by all ``trains``; DataFormatError naming the first that differs.

    ``argument`` is a format string with ``{k}`` for the train's index; ``first_name`` names train 0
    in the message.
    """
    from ..units import to_float_ms

    return common_window_of([to_float_ms(st.t_start) for st in trains], [to_float_ms(st.t_stop) for st in trains],
                            [st.name for st in trains], argument, first_name, fix)


def common_window_of(t0s, t1s, names, argument, first_name, fix):
    """:func:`common_window_ms` of trains given by their t_start and t_stop in ms and their names."""
    for k, (a, b) in enumerate(zip(t0s, t1s)):
        if a != t0s[0] or b != t1s[0]:
            raise input_error(f"{argument.format(k=k)} ({names[k]!r})",
                              f"t_start {t0s[0]} ms and t_stop {t1s[0]} ms like {first_name}",
                              f"t_start {a} ms, t_stop {b} ms", fix, cls=DataFormatError)
    return (t0s[0], t1s[0]) if len(t0s) else (0.0, 0.0)


def assert_block_follows_layout(block, record=None):
    """Raise DataFormatError naming the first way ``block`` departs from the canonical layout.

    Checks the Segment, the Epoch and Event names, one SpikeTrain per unit with :data:`UNIT_ANNOTATIONS`
    and the per-spike ``trial`` annotation, a Group per population and, when ``record`` is given, that the
    sizes match it.
    """
    def fail(what, got):
        raise input_error("block", what, got, cls=DataFormatError)

    if not is_ours(block):
        fail(f"one Segment with an Epoch {TRIALS_EPOCH!r} and annotation synsem_layout={LAYOUT!r}",
             f"{len(block.segments)} segments, synsem_layout={block.annotations.get('synsem_layout')!r}")
    seg = block.segments[0]
    if not any(ev.name == STIMULUS_EVENT for ev in seg.events):
        fail(f"an Event {STIMULUS_EVENT!r}", [ev.name for ev in seg.events])
    for st in seg.spiketrains:
        missing = [k for k in UNIT_ANNOTATIONS if k not in st.annotations]
        if missing or "trial" not in st.array_annotations:
            fail("SpikeTrains annotated with " + ", ".join(UNIT_ANNOTATIONS) + " and a per-spike 'trial'",
                 f"{st.name!r} without {missing or ['trial']}")
    pops = {str(st.annotations["source_population"]) for st in seg.spiketrains}
    if pops != {g.name for g in block.groups}:
        fail(f"one Group per population {sorted(pops)}", sorted(g.name for g in block.groups))
    if record is not None:
        ep = next(e for e in seg.epochs if e.name == TRIALS_EPOCH)
        if len(seg.spiketrains) != record.n_units or len(ep) != record.n_trials:
            fail(f"{record.n_units} SpikeTrains and {record.n_trials} trials",
                 f"{len(seg.spiketrains)} and {len(ep)}")


def parse_meta(ann, fallback):
    """``record.meta`` from Block annotations (``meta_json``), else ``fallback``."""
    return json.loads(ann["meta_json"]) if "meta_json" in ann else fallback
