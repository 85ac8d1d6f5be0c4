"""A direct h5py writer and reader of the NIX files that ``neo.io.NixIO`` writes, for the Blocks of this package.

Why: ``neo.io.NixIO`` goes through nixio's object model, which costs ~6 ms of Python per SpikeTrain each way
(about twenty HDF5 objects per train, each looked up, stamped and checked by name): 25 s to write and 26 s
to read the demo recording of 2,394 units. This module creates and reads the same HDF5 objects with h5py's
low-level API, a few calls each, so the file is the one neo would write and plain ``neo.io.NixIO`` reads
it (tested), and reads such files back into the same ``neo.Block`` neo's reader builds.

The layout (nixio 1.5, file format 1.2.1, neo 0.14's mapping of Neo objects)::

    /                           attrs format "nix", version int32 (1, 2, 1), id, created_at, updated_at
    /data/<block>               entity group: attrs name, type, entity_id, created_at, updated_at[, definition]
                                (the per-object entities below, tags, data arrays and their sections: no
                                updated_at)
        metadata                -> /metadata/<block>                                       (hard link)
        groups/<segment>        entity "neo.segment"; metadata -> its section; multi_tags/<tag id> -> the tags
        groups/<group>          entity "neo.group"; metadata; multi_tags/<tag id> -> its SpikeTrains, ...
        data_arrays/<tag>.times entity "neo.spiketrain.times" / "neo.event.times" / "neo.epoch.times" with a
                                dataset "data" and attr unit; events and epochs: dimensions/1 {dimension_type
                                "set"} with a dataset "labels"; epochs also <tag>.durations
        multi_tags/<tag>        entity "neo.spiketrain" / "neo.event" / "neo.epoch": positions [, extents]
                                and metadata (hard links)
    /metadata/neo               section "neo.metadata" with the property version (neo's version)
    /metadata/<block>           the section tree: properties/<name> (1-D datasets, attrs name, entity_id
                                [, unit, definition, type]) and
                                sections/<child section> for segments, groups and their objects
    /metadata/synsem_ephys.checksum   this package's section: payload_sha256 (neo does not read it)

Every group tracks and indexes the creation order of its links, as nixio's do: readers list Segments,
SpikeTrains and properties in creation order.

Where the files differ from nixio's own (for speed; nixio's validator finds no error in them that it does not
find in neo's files, and neo reads the same Block, tested): datasets have a fixed size, stored compact (up to
8 KiB, inside their object header) or contiguous, where nixio makes every dataset chunked and resizable (a
chunk index of ~2 KB each: the demo recording's file 79 -> 49 MB); so these files are for reading, not for
appending to a data array with nixio. The per-object entities (tags, data arrays, their sections) carry no
``updated_at`` and properties no ``created_at`` / ``updated_at``: nixio writes them, neither neo nor nixio's
validator reads them, and each costs ~20 us of HDF5. Properties follow neo's ``_write_property``: numbers as
int64 / float64 / bool, strings as variable-length UTF-8, lists and 1-D arrays element-wise of one type,
scalar quantities with their unit, dates as ISO strings with their kind in ``definition``, empty lists as
an empty string property with definition ``EMPTYLIST``, array annotations with type ``ARRAYANNOTATION``.
The ``nix_name`` annotation is not written as a property (neo sets it from the object's own name).

Handled: Blocks of Segments holding SpikeTrains (without waveforms), Events and Epochs, and Groups of those
objects. Anything else (analog or irregularly sampled signals, image sequences, waveforms, channel views,
nested groups, annotation values neo would not store) raises :class:`Unsupported`, and the caller uses
``neo.io.NixIO`` for the whole Block or file instead.

Checksum: the writer stores the SHA-256 of the payload (every property's name, type, unit, definition and
values, every data array's unit, values and labels, object types, descriptions, Block and Segment times
and Group membership, in reading order) in the section ``synsem_ephys.checksum``; the reader computes the
same digest from what it read and raises :class:`ChecksumMismatch` when they differ. Files without that
section (older files, files of other tools) are read without the check.
"""

import hashlib
import uuid
from datetime import date, datetime, time
from numbers import Integral, Real

import numpy as np

__all__ = ["Unsupported", "ChecksumMismatch", "write_block", "read_blocks", "CHECKSUM_SECTION"]

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
    """SHA-256 over a sequence of typed fields; writer and reader feed it the same fields in the same order."""

    def __init__(self):
        self.h = hashlib.sha256()

    def text(self, s):
        b = b"\xff" if s is None else s.encode("utf-8", "surrogatepass")
        self.h.update(b"s%d:" % len(b) + b)

    def values(self, kind, values):
        if kind == "s":
            self.h.update(b"S%d:" % len(values))
            for v in values:
                self.text(v)
        else:
            arr = np.ascontiguousarray(values, dtype=_CANON[kind])
            self.h.update(b"%s%d:" % (kind.encode(), arr.size))
            self.h.update(arr.view(np.uint8).reshape(-1) if arr.size else b"")

    def prop(self, name, kind, values, unit, definition, ptype):
        self.text(name)
        self.text(kind)
        self.text(unit)
        self.text(definition)
        self.text(ptype)
        self.values(kind, values)

    def hexdigest(self):
        return self.h.hexdigest()


_CANON = {"i": "<i8", "u": "<u8", "f": "<f8", "b": "|b1"}


def _kind(dtype):
    """'i', 'u', 'f', 'b' or 's' for the numpy dtype of values read or written."""
    if dtype.kind in "iufb":
        return dtype.kind
    if dtype.kind in "OSU":
        return "s"
    raise Unsupported(f"values of dtype {dtype}")


# ============================================================================================== writing
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


class _Writer:
    def __init__(self, path):
        import h5py
        from nixio.util import now_int, time_to_str

        self.h5py = h5py
        self.time_to_str = time_to_str
        fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
        fcpl.set_link_creation_order(h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED)
        self.fid = h5py.h5f.create(str(path).encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl)
        self.gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
        self.gcpl.set_link_creation_order(h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED)
        self.scalar = h5py.h5s.create(h5py.h5s.SCALAR)
        self.sdt = h5py.string_dtype("utf-8")
        self.utf8 = h5py.h5t.py_create(self.sdt, logical=True)
        self.ascii = h5py.h5t.py_create(h5py.string_dtype("ascii"), logical=True)
        self.tids = {k: h5py.h5t.py_create(np.dtype(_CANON[k]), logical=True) for k in "ifb"}
        self.tids["s"] = self.utf8
        self.compact = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        self.compact.set_layout(h5py.h5d.COMPACT)
        self.contiguous = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        for dcpl in (self.compact, self.contiguous):
            dcpl.set_obj_track_times(False)
        self.now = self._time(now_int())
        self.digest = _Digest()
        self.root = h5py.h5g.open(self.fid, b"/")
        self.attr(self.root, "format", "nix", ascii=True)
        h5py.h5a.create(self.root, b"version", h5py.h5t.py_create(np.dtype(np.int32)),
                        h5py.h5s.create_simple((3,))).write(np.array(NIX_VERSION, dtype=np.int32))
        self.attr(self.root, "id", str(uuid.uuid4()))
        self.attr(self.root, "created_at", self.now, ascii=True)
        self.attr(self.root, "updated_at", self.now, ascii=True)
        self.data = self.group(self.root, "data")
        self.metadata = self.group(self.root, "metadata")
        self._children = {}

    def _time(self, t):
        s = self.time_to_str(t)
        return s.decode() if isinstance(s, bytes) else s

    # ------------------------------------------------------------------ HDF5 primitives
    def group(self, parent, name):
        return self.h5py.h5g.create(parent, name.encode("utf-8"), gcpl=self.gcpl)

    def child(self, parent, name):
        """The sub-group ``name`` of ``parent``, created on first use (as nixio creates them)."""
        key = (id(parent), name)
        gid = self._children.get(key)
        if gid is None:
            gid = self._children[key] = (parent, self.group(parent, name))
        return gid[1]

    def attr(self, obj, key, value, ascii=False):
        self.h5py.h5a.create(obj, key.encode(), self.ascii if ascii else self.utf8, self.scalar).write(
            np.array(value, dtype=self.sdt))

    def link(self, parent, name, target):
        parent.links.create_hard(name.encode("utf-8"), target, b".")

    def dataset(self, parent, name, kind, values):
        data = np.array(values, dtype=self.sdt) if kind == "s" else np.ascontiguousarray(values)
        return self._create_dataset(parent, name.encode("utf-8"), self.tids[kind], data)

    def _create_dataset(self, parent, bname, tid, data):
        """A 1-D dataset of fixed size: compact (inside its object header) when small, else contiguous.

        nixio creates chunked resizable datasets, whose chunk index costs ~2 KB of file and ~1.5x the time
        of each small dataset to write and read; readers (h5py, nixio, neo, NIX's C++ library) see the same
        values whatever the storage layout."""
        h5py = self.h5py
        n = data.shape[0]
        nbytes = n * (16 if data.dtype.kind == "O" else data.dtype.itemsize)
        dcpl = self.compact if nbytes <= _COMPACT_MAX else self.contiguous
        dsid = h5py.h5d.create(parent, bname, tid, h5py.h5s.create_simple((n,)), dcpl=dcpl)
        if n:
            dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, data)
        return dsid

    def entity(self, parent, name, type_, definition=None, created=None, eid=None, updated=True):
        """An entity group; ``updated=False`` (the thousands of per-object entities) leaves out ``updated_at``,
        which nixio writes but neither nixio's validator nor neo reads (~20 us of HDF5 each)."""
        gid = self.group(parent, name)
        self.attr(gid, "name", name)
        self.attr(gid, "type", type_)
        self.attr(gid, "entity_id", eid or str(uuid.uuid4()))
        self.attr(gid, "created_at", created or self.now, ascii=True)
        if updated:
            self.attr(gid, "updated_at", self.now, ascii=True)
        if definition is not None:
            self.attr(gid, "definition", str(definition))
        return gid

    # ------------------------------------------------------------------ NIX objects
    def section(self, parent_sections, name, type_, updated=True):
        return self.entity(parent_sections, name, type_, updated=updated)

    def prop(self, section, name, value, ptype=None, digest=True):
        self.write_entry(section, _entry(name, value, ptype), digest)

    def write_entry(self, section, entry, digest=True):
        name, kind, values, unit, definition, ptype = entry
        props = self.child(section, "properties")
        if props.links.exists(name.encode("utf-8")):
            raise Unsupported(f"the property {name!r} twice")
        dsid = self.dataset(props, name, kind, values)
        self.attr(dsid, "name", name)
        self.attr(dsid, "entity_id", str(uuid.uuid4()))  # no created_at, updated_at: see the module docstring
        for key, val in (("unit", unit), ("definition", definition), ("type", ptype)):
            if val is not None:
                self.attr(dsid, key, val)
        if digest:
            self.digest.prop(*entry)

    def props(self, section, obj, first=()):
        for entry in _entries(obj, first):
            self.write_entry(section, entry)

    def shared_sections(self, seg_section, trains, entries):
        """Properties that many SpikeTrains share, written once: per train the entries it keeps and the
        section it links to (None: no link). A property of the same value in every train goes into one
        section of the Segment; properties of a few distinct values (a population's layer, cell type) into
        one section per combination, which links to the former. neo reads a linked section's properties as
        the train's own (nixio's ``inherited_properties``)."""
        n = len(trains)
        if n < _SHARE_MIN:
            return [(e, None) for e in entries]
        names = [dict((x[0], _key(x)) for x in es[1:] if x[5] is None) for es in entries]  # not neo_name
        common_names = set(names[0])
        for d in names[1:]:
            common_names &= set(d)
        common_names = {k for k in common_names if all(d[k] == names[0][k] for d in names)}
        distinct = {}
        for d in names:
            for k, v in d.items():
                if k not in common_names:
                    distinct.setdefault(k, set()).add(v)
        class_names = {k for k, vals in distinct.items() if len(vals) * _SHARE_RATIO <= n}
        if not common_names and not class_names:
            return [(e, None) for e in entries]
        shared_parent = self.child(seg_section, "sections")
        common = None
        if common_names:
            kept = [x for x in entries[0] if x[0] in common_names]
            common = self.section(shared_parent, f"synsem_ephys.shared.{uuid.uuid4().hex}", _SHARED_TYPE, False)
            for x in kept:
                self.write_entry(common, x, digest=False)
            common = (common, kept)
        classes, out = {}, []
        for es in entries:
            own = [x for x in es if x[0] not in common_names and x[0] not in class_names]
            cls_entries = [x for x in es if x[0] in class_names]
            sig = tuple(_key(x) + (x[0],) for x in cls_entries)
            target = common
            if cls_entries:
                target = classes.get(sig)
                if target is None:
                    sec = self.section(shared_parent, f"synsem_ephys.shared.{uuid.uuid4().hex}", _SHARED_TYPE, False)
                    for x in cls_entries:
                        self.write_entry(sec, x, digest=False)
                    if common is not None:
                        self.link(sec, "link", common[0])
                    target = classes[sig] = (sec, cls_entries + (common[1] if common else []))
            out.append((own, target))
        return out

    def header(self, type_, obj, created=None):
        d = self.digest
        d.text(type_)
        d.text(None if obj.description is None else str(obj.description))
        d.text(created)

    def data_array(self, block, name, type_, quantity, labels=None):
        import quantities as pq

        mag = np.ascontiguousarray(quantity.magnitude if isinstance(quantity, pq.Quantity) else quantity)
        if mag.ndim != 1:
            raise Unsupported(f"{type_} data of {mag.ndim} dimensions")
        kind = _kind(mag.dtype)
        if kind == "s":
            raise Unsupported(f"{type_} data of strings")
        unit = _units_to_string(quantity.units)
        da = self.entity(self.child(block, "data_arrays"), name, type_, updated=False)
        self.attr(da, "unit", unit)
        self._data(da, mag)
        self.digest.text(unit)
        self.digest.values(kind, mag)
        if labels is not None:
            labels = [str(x) if isinstance(x, str) else _bad_label(x) for x in labels]
            dim = self.group(self.group(da, "dimensions"), "1")
            self.attr(dim, "dimension_type", "set")
            self.dataset(dim, "labels", "s", labels)
            self.digest.values("s", labels)
        return da

    def _data(self, da, mag):
        tid = self.tids.get(mag.dtype.str)
        if tid is None:
            tid = self.tids[mag.dtype.str] = self.h5py.h5t.py_create(mag.dtype, logical=True)
        self._create_dataset(da, b"data", tid, mag)

    def nix_name(self, obj, kind):
        name = obj.annotations.get("nix_name")
        if name is None:
            return f"neo.{kind}.{uuid.uuid4().hex}"
        if not isinstance(name, str) or not name:
            raise Unsupported("a nix_name annotation that is not a string")
        return name

    def tag(self, block, seg_group, seg_section, obj, kind, entries=None, shared=None):
        name = self.nix_name(obj, kind)
        if name in self.tags:
            raise Unsupported(f"the object {name!r} twice")
        self.header(f"neo.{kind}", obj)
        sec = self.section(self.child(seg_section, "sections"), name, f"neo.{kind}.metadata", False)
        if entries is None:
            entries = _entries(obj, _first(obj, kind))
        for entry in entries:
            self.write_entry(sec, entry)
        if shared is not None:  # properties inherited from a linked section, hashed as neo reads them
            self.link(sec, "link", shared[0])
            for entry in shared[1]:
                self.digest.prop(*entry)
        labels = None if kind == "spiketrain" else obj.labels
        times = self.data_array(block, f"{name}.times", f"neo.{kind}.times", obj.times, labels)
        ext = None
        if kind == "epoch":
            ext = self.data_array(block, f"{name}.durations", "neo.epoch.durations", obj.durations)
        eid = str(uuid.uuid4())
        mt = self.entity(self.child(block, "multi_tags"), name, f"neo.{kind}", definition=obj.description, eid=eid,
                         updated=False)
        self.link(mt, "positions", times)
        if ext is not None:
            self.link(mt, "extents", ext)
        self.link(mt, "metadata", sec)
        self.link(self.child(seg_group, "multi_tags"), eid, mt)
        self.tags[name] = (mt, eid, len(self.tags))
        self.by_obj[id(obj)] = name

    def block(self, block):
        # neo's file section first, as neo.io.NixIO writes it
        import neo

        neo_sec = self.section(self.metadata, "neo", "neo.metadata")
        self.prop(neo_sec, "version", neo.__version__, digest=False)
        self.tags, self.by_obj = {}, {}
        name = self.nix_name(block, "block")
        created = self._time(int(block.rec_datetime.timestamp())) if block.rec_datetime else None
        blk = self.entity(self.data, name, "neo.block", definition=block.description, created=created)
        bsec = self.section(self.metadata, name, "neo.block.metadata")
        self.link(blk, "metadata", bsec)
        self.header("neo.block", block, created or self.now)
        self.props(bsec, block, [("neo_name", block.name if block.name is not None else "")]
                   + _file_datetime(block))
        names = set()
        for seg in block.segments:
            _check_segment(seg)
            sname = self.nix_name(seg, "segment")
            if sname in names:
                raise Unsupported(f"the Segment {sname!r} twice")
            names.add(sname)
            created = self._time(int(seg.rec_datetime.strftime("%s"))) if seg.rec_datetime else None
            sg = self.entity(self.child(blk, "groups"), sname, "neo.segment", definition=seg.description,
                             created=created)
            ssec = self.section(self.child(bsec, "sections"), sname, "neo.segment.metadata")
            self.link(sg, "metadata", ssec)
            self.header("neo.segment", seg, created or self.now)
            self.props(ssec, seg, [("neo_name", seg.name if seg.name is not None else "")] + _file_datetime(seg))
            for kind, objs in (("event", seg.events), ("epoch", seg.epochs)):
                for obj in objs:
                    self.tag(blk, sg, ssec, obj, kind)
            trains = list(seg.spiketrains)
            entries = [_entries(st, _first(st, "spiketrain")) for st in trains]
            for st, (own, shared) in zip(trains, self.shared_sections(ssec, trains, entries)):
                self.tag(blk, sg, ssec, st, "spiketrain", own, shared)
        for group in block.groups:
            _check_group(group)
            gname = self.nix_name(group, "group")
            if gname in names:
                raise Unsupported(f"the Group {gname!r} twice")
            names.add(gname)
            gg = self.entity(self.child(blk, "groups"), gname, "neo.group", definition=group.description)
            gsec = self.section(self.child(bsec, "sections"), gname, "neo.group.metadata")
            self.link(gg, "metadata", gsec)
            self.header("neo.group", group)
            self.props(gsec, group, [("neo_name", group.name if group.name is not None else "")])
            members = []
            for obj in (*group.events, *group.epochs, *group.spiketrains):
                tname = self.by_obj.get(id(obj))
                if tname is None:  # neo refuses it ("Orphan ... cannot be stored"): let it say so
                    raise Unsupported("a Group object outside the Block's Segments")
                mt, eid, index = self.tags[tname]
                self.link(self.child(gg, "multi_tags"), eid, mt)
                members.append(index)
            self.digest.values("i", np.array(members, dtype=np.int64))

    def checksum(self):
        sec = self.section(self.metadata, CHECKSUM_SECTION, CHECKSUM_SECTION)
        self.prop(sec, "scheme", CHECKSUM_SCHEME, digest=False)
        self.prop(sec, "payload_sha256", self.digest.hexdigest(), digest=False)

    def close(self):
        import h5py

        h5py.File(self.fid).close()


#: Share properties between SpikeTrains only from this many trains in a Segment on (below: neo's own layout).
_SHARE_MIN = 8
#: A property goes into a shared section when it takes at most one distinct value per this many trains.
_SHARE_RATIO = 4
_SHARED_TYPE = "synsem_ephys.shared_annotations"
#: Datasets of at most this many bytes are stored compact, inside their object header (HDF5 allows < 64 KiB
#: for the whole header, attributes included).
_COMPACT_MAX = 8192


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


def write_block(block, path):
    """Write ``block`` to a new NIX file at ``path`` (overwritten) as neo.io.NixIO would, with the checksum.

    Raises Unsupported (the file is then incomplete: write it again with neo) for what this module does not
    handle (see the module docstring).
    """
    w = _Writer(path)
    try:
        w.block(block)
        w.checksum()
    finally:
        w.close()


# ============================================================================================== reading
class _Reader:
    def __init__(self, path):
        import h5py

        self.h5py = h5py
        self.sdt = h5py.string_dtype()
        try:
            self.fid = h5py.h5f.open(str(path).encode(), h5py.h5f.ACC_RDONLY)
        except Exception as exc:  # not HDF5: neo's reader says what it is
            raise Unsupported(f"not an HDF5 file ({exc})") from exc
        self.root = h5py.h5g.open(self.fid, b"/")
        if self.attr(self.root, "format") != "nix":
            raise Unsupported("not a NIX file")
        version = self.array_attr(self.root, "version")
        if version is None or tuple(int(x) for x in version)[:2] != NIX_VERSION[:2]:
            raise Unsupported(f"NIX file format {version}")
        self.digest = _Digest()
        self.linked = {}

    def close(self):
        self.h5py.File(self.fid).close()

    # ------------------------------------------------------------------ HDF5 primitives
    def names(self, gid):
        out = []
        try:
            gid.links.iterate(out.append, idx_type=self.h5py.h5.INDEX_CRT_ORDER)
        except (KeyError, ValueError, RuntimeError):  # a group without creation order: not written by nixio
            raise Unsupported("a group without link creation order") from None
        return [n.decode("utf-8") for n in out]

    def has(self, gid, name):
        return gid.links.exists(name.encode("utf-8"))

    def open(self, gid, name):
        return self.h5py.h5o.open(gid, name.encode("utf-8"))

    def sub(self, gid, name):
        """The sub-group ``name`` or None."""
        return self.open(gid, name) if self.has(gid, name) else None

    def attr(self, obj, key, required=False):
        """The scalar string attribute ``key`` or None. ``required``: usually there, so opened without
        asking first (a missing one costs an exception). Read as variable-length strings, which also
        converts fixed-length ones; anything else fails the conversion: Unsupported."""
        h5py = self.h5py
        k = key.encode()
        if not required and not h5py.h5a.exists(obj, k):
            return None
        try:
            aid = h5py.h5a.open(obj, k)
        except KeyError:
            return None
        out = np.empty((), dtype=self.sdt)
        try:
            aid.read(out)  # ~3x faster than checking its type and shape first
        except (OSError, TypeError, ValueError):
            raise Unsupported(f"a non-string attribute {key}") from None
        v = out[()]
        return v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else str(v)

    def addr(self, gid, name):
        """The address of the object a hard link of ``gid`` points to, without opening it."""
        info = gid.links.get_info(name.encode("utf-8"))
        if info.type != self.h5py.h5l.TYPE_HARD:
            raise Unsupported("a soft or external link")
        return info.u

    def array_attr(self, obj, key):
        h5py = self.h5py
        if not h5py.h5a.exists(obj, key.encode()):
            return None
        aid = h5py.h5a.open(obj, key.encode())
        out = np.empty(aid.shape, dtype=aid.dtype)
        aid.read(out)
        return out

    def dataset(self, dsid):
        h5py = self.h5py
        if not isinstance(dsid, h5py.h5d.DatasetID):
            raise Unsupported("a group where a dataset belongs")
        shape = dsid.shape
        if len(shape) != 1:
            raise Unsupported("a dataset of more than one dimension")
        dt = dsid.dtype
        if dt.kind in "OS":
            if dt.kind == "O" and h5py.check_string_dtype(dt) is None:
                raise Unsupported("a dataset of objects that are not strings")
            out = np.empty(shape, dtype=dt)
            if shape[0]:
                dsid.read(h5py.h5s.ALL, h5py.h5s.ALL, out)
            return "s", [v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else str(v) for v in out]
        kind = _kind(dt)
        out = np.empty(shape, dtype=dt)
        if shape[0]:
            dsid.read(h5py.h5s.ALL, h5py.h5s.ALL, out)
        return kind, out

    # ------------------------------------------------------------------ NIX objects
    def entries(self, section, depth=0):
        """The properties of ``section`` and of the sections it links to, in nixio's order, as
        (name, kind, values, unit, definition, type); linked sections are read once."""
        children = self.names(section)
        props = self.open(section, "properties") if "properties" in children else None
        out = []
        num_attrs = self.h5py.h5a.get_num_attrs
        for name in self.names(props) if props is not None else []:
            dsid = self.open(props, name)
            kind, values = self.dataset(dsid)
            unit = definition = ptype = None
            if num_attrs(dsid) > 2:  # more than name and entity_id (neo's files: always)
                unit, definition, ptype = (self.attr(dsid, k) for k in ("unit", "definition", "type"))
            out.append((name, kind, values, unit, definition, ptype))
        if "link" in children:
            addr = self.addr(section, "link")
            linked = self.linked.get(addr)
            if linked is None:
                if depth > 16:
                    raise Unsupported("a chain of more than 16 linked sections")
                linked = self.linked[addr] = self.entries(self.open(section, "link"), depth + 1)
            out.extend(linked)
        return out

    def properties(self, section):
        """neo's ``_nix_attr_to_neo`` of a section's properties: (annotations, array annotations)."""
        attrs, arrays = {}, {}
        if section is None:
            return attrs, arrays
        for entry in self.entries(section):
            self.digest.prop(*entry)
            name, kind, values, unit, definition, ptype = entry
            if ptype == ARRAY:
                if not len(values):
                    v = [] if definition == EMPTY else ("" if kind == "s" else ())
                else:
                    v = np.array(values) if kind == "s" else values
                if unit:
                    v = _quantity(v, unit)
                arrays[name] = v
                continue
            n = len(values)
            v = list(values)  # numpy scalars or str, as neo's reader lists nixio's values
            if not n:
                v = [] if definition == EMPTY else ("" if kind == "s" else v)
            elif n == 1:
                v = v[0]
            if unit:
                v = _quantity(v, unit)
            if definition in _DATE_KINDS:
                v = _dt_from_nix(v, definition)
            attrs[name] = v
        return attrs, arrays

    def neo_attrs(self, gid, type_, created=False, children=None):
        definition = self.attr(gid, "definition")
        stamp = self.attr(gid, "created_at", True) if created else None
        self.digest.text(type_)
        self.digest.text(definition)
        self.digest.text(stamp)
        has_md = "metadata" in children if children is not None else self.has(gid, "metadata")
        attrs, arrays = self.properties(self.open(gid, "metadata") if has_md else None)
        out = {"nix_name": self.attr(gid, "name", True), "description": definition}
        out.update(attrs)
        if arrays:
            out["array_annotations"] = arrays
        name = out.pop("neo_name", None)
        out["name"] = None if name is None else str(name)
        return out, stamp

    def data_array(self, gid, labels):
        if gid is None:
            raise Unsupported("a tag without its data array")
        unit = self.attr(gid, "unit", True) or ""
        kind, data = self.dataset(self.open(gid, "data"))
        if kind == "s":
            raise Unsupported("string data")
        if self.h5py.h5a.get_num_attrs(gid) > 5:  # more than name, type, entity_id, created_at, unit
            for key in ("polynom_coefficients", "expansion_origin", "label"):
                if self.h5py.h5a.exists(gid, key.encode()):
                    raise Unsupported("calibrated or labelled data arrays")
        self.digest.text(unit)
        self.digest.values(kind, data)
        self.n_arrays += 1
        out = [data, unit]
        if labels:
            dims = self.sub(gid, "dimensions")
            dim = self.sub(dims, "1") if dims is not None else None
            if dim is None or self.attr(dim, "dimension_type") != "set" or not self.has(dim, "labels"):
                raise Unsupported("a tag without a set dimension of labels")
            lk, lab = self.dataset(self.open(dim, "labels"))
            if lk != "s":
                raise Unsupported("labels that are not strings")
            self.digest.values("s", lab)
            out.append(lab)
        return out

    def tag(self, mt):
        import neo

        type_ = self.attr(mt, "type", True)
        if type_ not in _TAG_TYPES:
            raise Unsupported(f"a multi tag of type {type_!r}")
        children = set(self.names(mt))
        for sub in ("features", "references", "sources"):
            if sub in children and self.names(self.open(mt, sub)):
                raise Unsupported(f"a tag with {sub}")
        if "positions" not in children:
            raise Unsupported("a tag without positions")
        attrs, _ = self.neo_attrs(mt, type_, children=children)
        kind = type_.split(".")[1]
        data, unit, *labels = self.data_array(self.open(mt, "positions"), kind != "spiketrain")
        times = _quantity(data, unit)
        if kind == "spiketrain":
            obj = neo.SpikeTrain(times=times, **attrs)
        elif kind == "event":
            obj = neo.Event(times=times, labels=np.array(labels[0], dtype="U"), **attrs)
        else:
            ddata, dunit = self.data_array(self.sub(mt, "extents"), False)
            obj = neo.Epoch(times=times, durations=_quantity(ddata, dunit),
                            labels=np.array(labels[0], dtype="U") if len(labels[0]) else None, **attrs)
        return kind, obj

    def block(self, bg):
        import neo

        if self.attr(bg, "type", True) != "neo.block":
            raise Unsupported("a block not written by neo")
        children = set(self.names(bg))
        attrs, stamp = self.neo_attrs(bg, "neo.block", created=True, children=children)
        block = neo.Block(**attrs)
        block.rec_datetime = _from_stamp(stamp)
        groups = self.open(bg, "groups") if "groups" in children else None
        by_addr, order = {}, {}
        self.n_arrays = 0
        for gname in self.names(groups) if groups is not None else []:
            g = self.open(groups, gname)
            gtype = self.attr(g, "type", True)
            gchildren = set(self.names(g))
            if "data_arrays" in gchildren and self.names(self.open(g, "data_arrays")):
                raise Unsupported("signals in a Segment or Group")
            tags = self.names(self.open(g, "multi_tags")) if "multi_tags" in gchildren else []
            tag_group = self.open(g, "multi_tags") if tags else None
            if gtype == "neo.segment":
                sattrs, sstamp = self.neo_attrs(g, "neo.segment", created=True, children=gchildren)
                seg = neo.Segment(**sattrs)
                seg.rec_datetime = _from_stamp(sstamp)
                lists = {"event": [], "epoch": [], "spiketrain": []}
                for tname in tags:
                    kind, obj = self.tag(self.open(tag_group, tname))
                    lists[kind].append(obj)
                    addr = self.addr(tag_group, tname)
                    if addr in by_addr:
                        raise Unsupported("a tag in two Segments")
                    by_addr[addr] = obj
                    order[addr] = len(order)
                # extend, not append: neo's append checks the whole list each time (quadratic)
                seg.events.extend(lists["event"])
                seg.epochs.extend(lists["epoch"])
                seg.spiketrains.extend(lists["spiketrain"])
                block.segments.append(seg)
            elif gtype == "neo.group":
                gattrs, _ = self.neo_attrs(g, "neo.group", children=gchildren)
                if "neo_parent" in gattrs:
                    raise Unsupported("nested groups")
                group = neo.Group(**gattrs)
                members, lists = [], {}
                for tname in tags:
                    addr = self.addr(tag_group, tname)
                    if addr not in by_addr:
                        raise Unsupported("a Group member outside the Segments")
                    obj = by_addr[addr]
                    lists.setdefault(type(obj).__name__.lower() + "s", []).append(obj)
                    members.append(order[addr])
                for container, objs in lists.items():
                    getattr(group, container).extend(objs)
                self.digest.values("i", np.array(members, dtype=np.int64))
                block.groups.append(group)
            else:
                raise Unsupported(f"a group of type {gtype!r}")
        # anything else in the Block (free-floating signals or tags) is for neo's reader
        for sub, expected in (("multi_tags", len(order)), ("data_arrays", self.n_arrays)):
            found = len(self.names(self.open(bg, sub))) if sub in children else 0
            if found != expected:
                raise Unsupported(f"{found} {sub} in the Block, {expected} in its Segments")
        block.check_relationships()
        return block

    def blocks(self):
        data = self.sub(self.root, "data")
        if data is None:
            raise Unsupported("a NIX file without /data")
        return [self.block(self.open(data, n)) for n in self.names(data)]

    def stored_checksum(self):
        md = self.sub(self.root, "metadata")
        if md is None or not self.has(md, CHECKSUM_SECTION):
            return None
        sec = self.open(md, CHECKSUM_SECTION)
        props = self.sub(sec, "properties")
        try:
            _, scheme = self.dataset(self.open(props, "scheme"))
            _, value = self.dataset(self.open(props, "payload_sha256"))
        except Exception as exc:  # noqa: BLE001 - a damaged checksum section cannot vouch for the data
            raise ChecksumMismatch("(unreadable)", f"({type(exc).__name__}: {exc})") from exc
        if list(scheme) != [CHECKSUM_SCHEME] or len(value) != 1:
            raise ChecksumMismatch(f"{list(value)} of scheme {list(scheme)}", "(not comparable)")
        return value[0]


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


def has_checksum(path):
    """Whether the NIX file at ``path`` holds this package's checksum section (False if it cannot tell)."""
    try:
        r = _Reader(path)
    except Exception:  # noqa: BLE001 - not ours or unreadable: the caller's reader says why
        return False
    try:
        md = r.sub(r.root, "metadata")
        return md is not None and r.has(md, CHECKSUM_SECTION)
    except Exception:  # noqa: BLE001
        return False
    finally:
        r.close()


def read_blocks(path, verify=True):
    """All Blocks of the NIX file at ``path`` as ``neo.io.NixIO.read_all_blocks`` builds them.

    Raises Unsupported for files this module does not read (then read them with neo), ChecksumMismatch
    when ``verify`` and the payload differs from the stored checksum; HDF5 errors as h5py raises them.
    """
    r = _Reader(path)
    try:
        stored = r.stored_checksum() if verify else None
        blocks = r.blocks()
        if stored is not None:
            computed = r.digest.hexdigest()
            if computed != stored:
                raise ChecksumMismatch(stored, computed)
        return blocks
    finally:
        r.close()
