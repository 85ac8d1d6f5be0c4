"""A canonical Block read from a NIX file (:class:`._nix_h5.ReadBlock`) straight into a SpikeRecord, without neo.

``read_nix_record`` of the demo recording built ~2,400 ``neo.SpikeTrain`` s only for ``from_block`` to take
their arrays out again (~0.7 s). Here the values the reader read (the keyword arguments neo's classes would
get) go to :func:`synsem_ephys.io.block.record_from_canonical`, the same function ``from_block`` uses, so
the record is the same (tested against ``from_block(read_nix(path))`` on files of ours and of neo's writer).
What neo's constructors would refuse (a spike outside ``[t_start, t_stop]``, an array annotation of the wrong
length) raises ValueError here too, which the caller reports as a damaged file.
"""

import numpy as np

from ..errors import DataFormatError, input_error
from ..units import to_float_ms
from . import layout as L
from ._nix_h5.values import _quantity
from .block import CanonicalTrain, record_from_canonical
from .canonical import CanonicalTag

__all__ = ["is_canonical", "record_of"]

#: Keyword arguments of neo.Block that are attributes, not annotations.
_BLOCK_ATTRIBUTES = ("name", "description", "file_origin", "file_datetime", "rec_datetime", "array_annotations")
#: Keyword arguments of a read tag that are not annotations of the neo object.
_TAG_ATTRIBUTES = ("name", "description", "file_origin", "array_annotations", "t_start", "t_stop")


def is_canonical(plan):
    """Whether a :class:`._nix_h5.ReadBlock` has the canonical layout (one Segment with an Epoch "trials"),
    as :func:`synsem_ephys.io.layout.block_layout_ok` of its neo Block."""
    return len(plan.segments) == 1 and any(ep.attrs.get("name") == L.TRIALS_EPOCH for ep in plan.segments[0].epochs)


def _ms(values, unit):
    """Times in ms (the values themselves when they are in ms, as neo's ``rescale`` leaves them)."""
    values = np.atleast_1d(values)
    if unit == "ms":
        return values.astype(np.float64, copy=False)
    return np.atleast_1d(to_float_ms(_quantity(values, unit)))


def _scalar_ms(q, unit, what, name):
    """A time annotation as float ms: its value itself when its unit is ms (``unit``, as read; quantities'
    rescaling costs ~35 us, twice per train)."""
    if unit == "ms" and getattr(q, "ndim", 1) == 0:
        return float(q.magnitude)
    try:
        return float(to_float_ms(q))
    except (ValueError, TypeError) as exc:
        raise input_error(f"spiketrain {name!r} {what}", "a time", repr(q), cls=DataFormatError) from exc


def _arrays(attrs, n, name):
    """The array annotations as neo normalises them (lists to arrays, empty ones to float64), length-checked."""
    out = {}
    for key, v in attrs.get("array_annotations", {}).items():
        if not isinstance(v, np.ndarray):
            v = np.array(v) if isinstance(v, (list, tuple)) and len(v) else (
                np.ndarray((0,)) if isinstance(v, (list, tuple)) else np.array([v]))
        if len(v) != n:  # neo.SpikeTrain / Event / Epoch raise ValueError
            raise ValueError(f"{name!r}: array annotation {key!r} of {len(v)} values for {n} times")
        out[key] = v
    return out


def _train(t):
    attrs = t.attrs
    name = attrs.get("name")
    times = _ms(t.times, t.unit) if len(t.times) else np.zeros(0)
    units = t.units or {}
    t0 = _scalar_ms(attrs["t_start"], units.get("t_start"), "t_start", name) if "t_start" in attrs else 0.0
    if "t_stop" not in attrs:
        raise input_error(f"spiketrain {name!r}", "a t_stop", "none", cls=DataFormatError)
    t1 = _scalar_ms(attrs["t_stop"], units.get("t_stop"), "t_stop", name)
    if times.size and (times.min() < t0 or times.max() > t1):  # neo.SpikeTrain raises ValueError
        raise ValueError(f"spiketrain {name!r}: spikes in [{times.min()}, {times.max()}] ms, outside [t_start, t_stop] "
                         f"= [{t0}, {t1}] ms")
    ann = {k: v for k, v in attrs.items() if k not in _TAG_ATTRIBUTES}
    return CanonicalTrain(name, times, t0, t1, ann, _arrays(attrs, times.size, name))


def _tag(t):
    name = t.attrs.get("name")
    times = _ms(t.times, t.unit) if len(t.times) else np.zeros(0)
    durations = None
    if t.durations is not None:
        durations = _ms(t.durations, t.durations_unit) if len(t.times) else np.zeros(0)
    return CanonicalTag(name, times, None, _arrays(t.attrs, times.size, name), durations)


def record_of(plan):
    """The SpikeRecord of a canonical :class:`._nix_h5.ReadBlock` (see :func:`is_canonical`)."""
    seg = plan.segments[0]
    ann = {k: v for k, v in plan.attrs.items() if k not in _BLOCK_ATTRIBUTES}
    L.restore_list_annotations(ann)
    source = str(plan.attrs.get("file_origin") or plan.attrs.get("name") or "neo.Block")
    epoch = _tag(next(ep for ep in seg.epochs if ep.attrs.get("name") == L.TRIALS_EPOCH))
    return record_from_canonical(ann, source, epoch, [_train(t) for t in seg.trains], [_tag(t) for t in seg.events])
