"""What the writer writes, as plain values: the NIX objects of a Block, from a neo Block or straight from a record.

A :class:`BlockPlan` holds, per neo object, the name the file gives it, its description, its properties
already encoded (:func:`.values._entries`: neo's order, ``neo_name`` first) and its data. :func:`plan_of_block`
makes one of a ``neo.Block``; :func:`synsem_ephys.io._nix_h5.direct.plan_of_canonical` makes the same plan of
a record's canonical Block without building neo objects (``io.canonical``). The writer
(:mod:`.writer`) turns either into the same file.
"""

import uuid
from typing import NamedTuple

import numpy as np

from .values import (
    Unsupported,
    _entries,
    _file_datetime,
    _first,
    _stamp,
    _units_to_string,
)

__all__ = ["BlockPlan", "GroupPlan", "SegmentPlan", "TagPlan", "nix_name", "plan_of_block"]


class TagPlan(NamedTuple):
    """A SpikeTrain, Event or Epoch: a multi tag with its data arrays and metadata section.

    ``key`` identifies the object for Group membership (any hashable, unique in the Block)."""

    kind: str
    name: str
    description: object
    entries: list
    times: np.ndarray
    unit: str
    labels: object = None
    durations: np.ndarray = None
    durations_unit: str = None
    key: object = None


class SegmentPlan(NamedTuple):
    name: str
    description: object
    created: object  # the NIX time stamp of rec_datetime, or None (the file's creation time)
    entries: list
    tags: list  # Events, then Epochs
    trains: list


class GroupPlan(NamedTuple):
    name: str
    description: object
    entries: list
    members: list  # keys of TagPlans, in neo's order (events, epochs, spiketrains)


class BlockPlan(NamedTuple):
    name: str
    description: object
    created: object
    entries: list
    segments: list
    groups: list


def nix_name(obj, kind):
    """The name neo's NixIO gives ``obj``: its ``nix_name`` annotation, else a new ``neo.<kind>.<uuid>``."""
    name = obj.annotations.get("nix_name")
    if name is None:
        return f"neo.{kind}.{uuid.uuid4().hex}"
    if not isinstance(name, str) or not name:
        raise Unsupported("a nix_name annotation that is not a string")
    return name


def _magnitude(q):
    import quantities as pq

    return np.ascontiguousarray(q.magnitude if isinstance(q, pq.Quantity) else q)


def _tag_plan(obj, kind, entries=None):
    times = obj.times
    durations = obj.durations if kind == "epoch" else None
    return TagPlan(kind, nix_name(obj, kind), obj.description,
                   entries if entries is not None else _entries(obj, _first(obj, kind)),
                   _magnitude(times), _units_to_string(times.units),
                   None if kind == "spiketrain" else obj.labels,
                   None if durations is None else _magnitude(durations),
                   None if durations is None else _units_to_string(durations.units), id(obj))


def plan_of_block(block):
    """The plan of a ``neo.Block``; Unsupported for what the writer does not handle (signals, waveforms, ...)."""
    segments = []
    for seg in block.segments:
        _check_segment(seg)
        tags = [_tag_plan(obj, kind) for kind, objs in (("event", seg.events), ("epoch", seg.epochs)) for obj in objs]
        trains = [_tag_plan(st, "spiketrain") for st in seg.spiketrains]
        segments.append(SegmentPlan(
            nix_name(seg, "segment"), seg.description,
            _stamp(int(seg.rec_datetime.strftime("%s"))) if seg.rec_datetime else None,
            _entries(seg, [("neo_name", seg.name if seg.name is not None else "")] + _file_datetime(seg)), tags, trains))
    groups = []
    for group in block.groups:
        _check_group(group)
        groups.append(GroupPlan(nix_name(group, "group"), group.description,
                                _entries(group, [("neo_name", group.name if group.name is not None else "")]),
                                [id(obj) for obj in (*group.events, *group.epochs, *group.spiketrains)]))
    return BlockPlan(nix_name(block, "block"), block.description,
                     _stamp(int(block.rec_datetime.timestamp())) if block.rec_datetime else None,
                     _entries(block, [("neo_name", block.name if block.name is not None else "")]
                              + _file_datetime(block)), segments, groups)


def _check_segment(seg):
    if seg.analogsignals or seg.irregularlysampledsignals or getattr(seg, "imagesequences", []):
        raise Unsupported("signals or image sequences")
    for st in seg.spiketrains:
        if st.waveforms is not None:
            raise Unsupported("waveforms")


def _check_group(group):
    if group.groups or group.analogsignals or group.irregularlysampledsignals or group.channelviews or \
            getattr(group, "imagesequences", []):
        raise Unsupported("nested groups, signals or channel views in a Group")
