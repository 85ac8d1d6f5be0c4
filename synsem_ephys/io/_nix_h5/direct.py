"""A record's canonical Block (:mod:`synsem_ephys.io.canonical`) as a writer's plan, without neo objects.

The plan holds the same names, properties (in neo's order: ``neo_name``, ``t_start``, ``t_stop``, the
annotations, the array annotations) and data as :func:`.plan.plan_of_block` of ``to_block(record)``, so the
file is the same (tested: the same payload checksum and the same Block read by ``neo.io.NixIO``); it skips
building ~2,400 ``neo.SpikeTrain`` s and their checks (~0.5 s for the demo recording).
"""

import uuid

from .plan import BlockPlan, GroupPlan, SegmentPlan, TagPlan
from .values import ARRAY, _entry, _stamp

__all__ = ["plan_of_canonical"]

_MS = "ms"


def _name(kind):
    return f"neo.{kind}.{uuid.uuid4().hex}"


def _tag(kind, t):
    entries = [_entry("neo_name", t.name)] + [_entry(k, v, ARRAY) for k, v in t.array_annotations.items()]
    return TagPlan(kind, _name(kind), None, entries, t.times_ms, _MS, t.labels, t.durations_ms,
                   None if t.durations_ms is None else _MS)


def plan_of_canonical(c):
    """The :class:`.plan.BlockPlan` of a :class:`synsem_ephys.io.canonical.CanonicalBlock`."""
    import quantities as pq

    start = _entry("t_start", pq.Quantity(0.0, pq.ms))
    stop = _entry("t_stop", pq.Quantity(c.t_stop_ms, pq.ms))
    trains = []
    for u in range(c.n_units):
        times, arrays = c.train_arrays(u)
        entries = [_entry("neo_name", c.unit_names[u]), start, stop]
        entries += [_entry(k, v) for k, v in c.unit_annotations[u].items()]
        entries += [_entry(k, v, ARRAY) for k, v in arrays.items()]
        trains.append(TagPlan("spiketrain", _name("spiketrain"), None, entries, times, _MS, key=u))
    tags = [_tag("event", ev) for ev in c.events] + [_tag("epoch", ep) for ep in c.epochs]
    segment = SegmentPlan(_name("segment"), None, None, [_entry("neo_name", c.segment_name)], tags, trains)
    groups = [GroupPlan(_name("group"), None,
                        [_entry("neo_name", g.name)] + [_entry(k, v) for k, v in g.annotations.items()],
                        g.members.tolist()) for g in c.groups]
    entries = [_entry("neo_name", c.name)] + [_entry(k, v) for k, v in c.annotations.items()]
    created = _stamp(int(c.rec_datetime.timestamp())) if c.rec_datetime else None
    return BlockPlan(_name("block"), c.description, created, entries, [segment], groups)
