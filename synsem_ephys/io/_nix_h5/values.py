"""NIX property values as neo's NixIO stores them, and the payload digest: shared by the writer and the reader."""

import hashlib
from datetime import date, datetime, time
from numbers import Integral, Real

import numpy as np

__all__ = ["CHECKSUM_SCHEME", "CHECKSUM_SECTION", "NIX_VERSION", "ChecksumMismatch", "Unsupported", "encode_value"]

NIX_VERSION = (1, 2, 1)
CHECKSUM_SECTION = "synsem_ephys.checksum"
#: Version of the digest's definition, stored beside it.
CHECKSUM_SCHEME = "synsem_ephys.nix_payload_sha256.v1"
EMPTY, ARRAY = "EMPTYLIST", "ARRAYANNOTATION"
_DATE_KINDS = {"DATETIME": "%Y-%m-%dT%H:%M:%S.%f", "DATE": "%Y-%m-%d", "TIME": "%H:%M:%S.%f"}
_TAG_TYPES = ("neo.event", "neo.epoch", "neo.spiketrain")


class Unsupported(Exception):
    """The Block or file holds something this module does not write or read: use ``neo.io.NixIO``."""


class ChecksumMismatch(Exception):
    """The payload read differs from the checksum stored in the file (``.stored``, ``.computed``)."""

    def __init__(self, stored, computed):
        super().__init__(f"stored payload SHA-256 {stored[:16]}..., computed {computed[:16]}...")
        self.stored, self.computed = stored, computed


# ============================================================================================== digest
class _Digest:
    """SHA-256 over a sequence of typed fields; writer and reader feed it the same fields in the same order.

    Fields: a text ``s<bytes>:<utf-8>`` (the byte 0xff for None); values ``S<n>:`` and n texts, or ``<kind><n>:`` and
    the little-endian bytes of the canonical dtype. The pieces are hashed in batches (one ``update`` per ~4,000
    fields: ~0.1 s less per file of the demo recording), the same byte stream as one update per field."""

    def __init__(self):
        self.h = hashlib.sha256()
        self.parts = []

    def _add(self, b):
        parts = self.parts
        parts.append(b)
        if len(parts) >= 4096:
            self.h.update(b"".join(parts))
            parts.clear()

    def text(self, s):
        b = b"\xff" if s is None else s.encode("utf-8", "surrogatepass")
        self._add(b"s%d:%b" % (len(b), b))

    def _texts(self, items):
        out = []
        for s in items:
            b = b"\xff" if s is None else s.encode("utf-8", "surrogatepass")
            out.append(b"s%d:%b" % (len(b), b))
        return b"".join(out)

    def values(self, kind, values):
        if kind == "s":
            self._add(b"S%d:" % len(values) + self._texts(values))
        else:
            arr = np.ascontiguousarray(values, dtype=_CANON[kind])
            self._add(b"%s%d:" % (kind.encode(), arr.size))
            if arr.nbytes > 65536:  # large arrays hashed in place, after what came before
                self.h.update(b"".join(self.parts))
                self.parts.clear()
                self.h.update(arr.view(np.uint8).reshape(-1))
            elif arr.size:
                self._add(arr.tobytes())

    def prop(self, name, kind, values, unit, definition, ptype):
        self._add(self._texts((name, kind, unit, definition, ptype)))
        self.values(kind, values)

    def hexdigest(self):
        if self.parts:
            self.h.update(b"".join(self.parts))
            self.parts.clear()
        return self.h.hexdigest()


_CANON = {"i": "<i8", "u": "<u8", "f": "<f8", "b": "|b1"}


def _kind(dtype):
    """'i', 'u', 'f', 'b' or 's' for the numpy dtype of values read or written."""
    if dtype.kind in "iufb":
        return dtype.kind
    if dtype.kind in "OSU":
        return "s"
    raise Unsupported(f"values of dtype {dtype}")


def _scalar_kind(v):
    if isinstance(v, (bool, np.bool_)):
        return "b"
    if isinstance(v, Integral):
        return "i"
    if isinstance(v, Real):
        return "f"
    if isinstance(v, str):
        return "s"
    raise Unsupported(f"a value of type {type(v).__name__}")


def _dt_to_nix(v):
    if isinstance(v, datetime):
        return v.strftime(_DATE_KINDS["DATETIME"]), "DATETIME"
    if isinstance(v, date):
        return v.strftime(_DATE_KINDS["DATE"]), "DATE"
    return v.strftime(_DATE_KINDS["TIME"]), "TIME"


def encode_value(v):
    """A Neo annotation value as neo's NixIO stores it: (kind, 1-D values, unit, definition).

    kind is 'b', 'i', 'f' (values as bool, int64, float64 arrays) or 's' (a list of str). Raises
    Unsupported for values neo would refuse, skip or store element by element in another way.
    """
    import quantities as pq

    if isinstance(v, (datetime, date, time)):
        s, kind = _dt_to_nix(v)
        return "s", [s], None, kind
    if isinstance(v, str):
        return "s", ([v] if v else []), None, None
    if isinstance(v, bytes):
        if not v:
            raise Unsupported("an empty bytes value")
        return "s", [v.decode()], None, None
    unit = str(v.dimensionality) if isinstance(v, pq.Quantity) else None
    if isinstance(v, np.ndarray):
        if v.ndim == 0:
            return _scalar(v.item(), unit)
        if v.size == 0:
            return "s", [], unit, EMPTY
        if v.ndim != 1:
            raise Unsupported("a multidimensional array annotation")
        mag = np.asarray(v.magnitude if isinstance(v, pq.Quantity) else v)
        k = mag.dtype.kind
        if k == "b":
            return "b", mag.astype(bool), unit, None
        if k in "iu":
            if k == "u" and mag.max() > np.iinfo(np.int64).max:
                raise Unsupported("unsigned integers beyond int64")
            return "i", mag.astype(np.int64), unit, None
        if k == "f":
            return "f", mag.astype(np.float64), unit, None
        if k == "U":
            return "s", mag.tolist(), unit, None
        return _sequence(list(v), unit)
    if isinstance(v, (list, tuple)):
        if not v:
            return "s", [], None, EMPTY
        return _sequence(v, None)
    if isinstance(v, np.generic):
        return _scalar(v.item(), None)
    if isinstance(v, (bool, int, float)):
        return _scalar(v, None)
    raise Unsupported(f"an annotation of type {type(v).__name__}")


def _scalar(v, unit):
    k = _scalar_kind(v)
    if k == "s" and not v:
        raise Unsupported("an empty string inside an array")
    return k, ([v] if k == "s" else np.array([v], dtype=_CANON[k])), unit, None


def _sequence(seq, unit):
    import quantities as pq

    items = []
    for item in seq:
        if isinstance(item, pq.Quantity):
            u = str(item.dimensionality)
            if unit is None:
                unit = u
            elif unit != u:
                raise Unsupported("inconsistent units")  # neo raises ValueError: let it say so
            item = item.magnitude.item()
        elif isinstance(item, (list, tuple, dict, set, np.ndarray)):
            raise Unsupported("nested containers")
        items.append(item)
    kinds = {_scalar_kind(x) for x in items}
    if len(kinds) != 1:
        raise Unsupported("values of mixed types")
    k = kinds.pop()
    return k, (items if k == "s" else np.array(items, dtype=_CANON[k])), unit, None


def _units_to_string(u):
    dim = str(u.dimensionality)
    return dim.strip("()") if dim.startswith("(") and dim.endswith(")") else dim


def _entry(name, value, ptype=None):
    kind, values, unit, definition = encode_value(value)
    return name, kind, values, unit, definition, ptype


def _first(obj, kind):
    first = [("neo_name", obj.name if obj.name is not None else "")]
    if kind == "spiketrain":
        first += [("t_start", obj.t_start), ("t_stop", obj.t_stop)]
    return first


def _entries(obj, first):
    out = [_entry(k, v) for k, v in first]
    out += [_entry(k, v) for k, v in obj.annotations.items() if k != "nix_name"]
    out += [_entry(k, v, ARRAY) for k, v in getattr(obj, "array_annotations", {}).items()]
    return out


def _key(entry):
    """A hashable form of an encoded property's value, unit and definition."""
    _, kind, values, unit, definition, _ = entry
    vals = tuple(values) if kind == "s" else (str(values.dtype), values.tobytes())
    return kind, vals, unit, definition


def _bad_label(x):
    raise Unsupported(f"a label of type {type(x).__name__}")


def _file_datetime(obj):
    return [("file_datetime", obj.file_datetime)] if obj.file_datetime else []


_UNITS = {}


def _quantity(values, unit):
    """``pq.Quantity(values, unit)`` as neo's reader makes it; the unit string is parsed once."""
    import quantities as pq

    dim = _UNITS.get(unit)
    if dim is None:
        dim = _UNITS[unit] = pq.Quantity(1.0, pq.CompoundUnit(unit) if "*" in unit else unit).dimensionality
    return pq.Quantity(values, dim)


def _dt_from_nix(v, kind):
    dt = datetime.strptime(v, _DATE_KINDS[kind])
    return dt if kind == "DATETIME" else (dt.date() if kind == "DATE" else dt.time())


def _from_stamp(stamp):
    from nixio.util import str_to_time

    return datetime.fromtimestamp(str_to_time(stamp))



def _stamp(t):
    """nixio's time stamp string of the POSIX time ``t`` (int seconds)."""
    from nixio.util import time_to_str

    s = time_to_str(t)
    return s.decode() if isinstance(s, bytes) else s
