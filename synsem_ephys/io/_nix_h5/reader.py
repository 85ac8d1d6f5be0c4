"""The reader: NIX files of neo's layout back into the neo Blocks neo's NixIO builds."""

from typing import NamedTuple

import numpy as np

from .hdf5 import library_lock
from .hdf5_read import Fallback, open_reader
from .values import (
    _DATE_KINDS,
    _TAG_TYPES,
    ARRAY,
    CHECKSUM_SCHEME,
    CHECKSUM_SECTION,
    EMPTY,
    NIX_VERSION,
    ChecksumMismatch,
    Unsupported,
    _Digest,
    _dt_from_nix,
    _from_stamp,
    _quantity,
)

__all__ = ["has_checksum", "read_blocks"]


class _Reader:
    def __init__(self, path, backend=None):
        import h5py

        self.h5py = h5py
        try:
            self.fid = h5py.h5f.open(str(path).encode(), h5py.h5f.ACC_RDONLY)
        except Exception as exc:  # not HDF5: neo's reader says what it is
            raise Unsupported(f"not an HDF5 file ({exc})") from exc
        try:
            self.h = h = open_reader(self.fid, backend)
            self.root = h.root
            if self.attr(self.root, "format") != "nix":
                raise Unsupported("not a NIX file")
            version = self.array_attr(h5py.h5g.open(self.fid, b"/"), "version")
            if version is None or tuple(int(x) for x in version)[:2] != NIX_VERSION[:2]:
                raise Unsupported(f"NIX file format {version}")
        except BaseException:
            self.close()
            raise
        self.digest = _Digest()
        self.linked = {}
        # the HDF5 calls, bound once
        self.names, self.has, self.open, self.release = h.names, h.has, h.open, h.release
        self.attr, self.addr, self.dataset = h.attr, h.addr, h.dataset

    def close(self):
        h = getattr(self, "h", None)
        if h is not None:
            h.close()
        else:
            self.h5py.File(self.fid).close()

    # ------------------------------------------------------------------ HDF5 primitives
    def attr(self, obj, key, required=False):
        """The scalar string attribute ``key`` or None. ``required``: usually there, so opened without
        asking first (a missing one costs an exception). Read as a variable-length string; anything else
        (a fixed-length string too) is Unsupported."""
        return self.h.attr(obj, key, required)

    def sub(self, gid, name):
        """The sub-group ``name`` or None."""
        return self.open(gid, name) if self.has(gid, name) else None

    def array_attr(self, obj, key):
        h5py = self.h5py
        if not h5py.h5a.exists(obj, key.encode()):
            return None
        aid = h5py.h5a.open(obj, key.encode())
        out = np.empty(aid.shape, dtype=aid.dtype)
        aid.read(out)
        return out

    # ------------------------------------------------------------------ NIX objects
    def entries(self, section, depth=0):
        """The properties of ``section`` and of the sections it links to, in nixio's order, as
        (name, kind, values, unit, definition, type); linked sections are read once."""
        children = self.names(section)
        props = self.open(section, "properties") if "properties" in children else None
        out = []
        num_attrs, attr, release = self.h.num_attrs, self.attr, self.release
        for name in self.names(props) if props is not None else []:
            dsid = self.open(props, name)
            kind, values = self.dataset(dsid)
            unit = definition = ptype = None
            if num_attrs(dsid) > 2:  # more than name and entity_id (neo's files: always)
                unit, definition, ptype = attr(dsid, "unit"), attr(dsid, "definition"), attr(dsid, "type")
            release(dsid)
            out.append((name, kind, values, unit, definition, ptype))
        if props is not None:
            release(props)
        if "link" in children:
            addr = self.addr(section, "link")
            linked = self.linked.get(addr)
            if linked is None:
                if depth > 16:
                    raise Unsupported("a chain of more than 16 linked sections")
                target = self.open(section, "link")
                linked = self.linked[addr] = self.entries(target, depth + 1)
                self.release(target)
            out.extend(linked)
        return out

    def properties(self, section):
        """neo's ``_nix_attr_to_neo`` of a section's properties: (annotations, array annotations)."""
        attrs, arrays = {}, {}
        self.units = units = {}  # the unit of each annotation that has one (read straight into a record)
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
            if unit:
                units[name] = unit
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
        section = self.open(gid, "metadata") if has_md else None
        attrs, arrays = self.properties(section)
        if section is not None:
            self.release(section)
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
        dsid = self.open(gid, "data")
        kind, data = self.dataset(dsid)
        self.release(dsid)
        if kind == "s":
            raise Unsupported("string data")
        if self.h.num_attrs(gid) > 5:  # more than name, type, entity_id, created_at, unit
            for key in ("polynom_coefficients", "expansion_origin", "label"):
                if self.h.has_attr(gid, key):
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
        units = self.units
        kind = type_.split(".")[1]
        positions = self.open(mt, "positions")
        data, unit, *labels = self.data_array(positions, kind != "spiketrain")
        self.release(positions)
        ddata = dunit = None
        if kind == "epoch":
            extents = self.sub(mt, "extents")
            ddata, dunit = self.data_array(extents, False)
            self.release(extents)
        return ReadTag(kind, attrs, data, unit, labels[0] if labels else None, ddata, dunit, units)

    def block(self, bg):
        if self.attr(bg, "type", True) != "neo.block":
            raise Unsupported("a block not written by neo")
        children = set(self.names(bg))
        attrs, stamp = self.neo_attrs(bg, "neo.block", created=True, children=children)
        segments, groups_out = [], []
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
                lists = {"event": [], "epoch": [], "spiketrain": []}
                for tname in tags:
                    mt = self.open(tag_group, tname)
                    t = self.tag(mt)
                    self.release(mt)
                    lists[t.kind].append(t)
                    addr = self.addr(tag_group, tname)
                    if addr in by_addr:
                        raise Unsupported("a tag in two Segments")
                    by_addr[addr] = t
                    order[addr] = len(order)
                segments.append(ReadSegment(sattrs, sstamp, lists["event"], lists["epoch"], lists["spiketrain"]))
            elif gtype == "neo.group":
                gattrs, _ = self.neo_attrs(g, "neo.group", children=gchildren)
                if "neo_parent" in gattrs:
                    raise Unsupported("nested groups")
                members, objs = [], []
                for tname in tags:
                    addr = self.addr(tag_group, tname)
                    if addr not in by_addr:
                        raise Unsupported("a Group member outside the Segments")
                    objs.append(by_addr[addr])
                    members.append(order[addr])
                self.digest.values("i", np.array(members, dtype=np.int64))
                groups_out.append(ReadGroup(gattrs, objs))
            else:
                raise Unsupported(f"a group of type {gtype!r}")
        # anything else in the Block (free-floating signals or tags) is for neo's reader
        for sub, expected in (("multi_tags", len(order)), ("data_arrays", self.n_arrays)):
            found = len(self.names(self.open(bg, sub))) if sub in children else 0
            if found != expected:
                raise Unsupported(f"{found} {sub} in the Block, {expected} in its Segments")
        return ReadBlock(attrs, stamp, segments, groups_out)

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
        except Exception as exc:
            raise ChecksumMismatch("(unreadable)", f"({type(exc).__name__}: {exc})") from exc
        if list(scheme) != [CHECKSUM_SCHEME] or len(value) != 1:
            raise ChecksumMismatch(f"{list(value)} of scheme {list(scheme)}", "(not comparable)")
        return value[0]


def has_checksum(path):
    """Whether the NIX file at ``path`` holds this package's checksum section (False if it cannot tell)."""
    try:
        r = _Reader(path, "h5py")
    except Exception:  # noqa: BLE001 - not ours or unreadable: the caller's reader says why
        return False
    try:
        md = r.sub(r.root, "metadata")
        return md is not None and r.has(md, CHECKSUM_SECTION)
    except Exception:  # noqa: BLE001
        return False
    finally:
        r.close()


def read_plans(path, verify=True):
    """All Blocks of the NIX file at ``path`` as :class:`ReadBlock` s (what neo's objects are made of: names,
    annotations, arrays), the checksum checked. Raises as :func:`read_blocks`."""
    try:
        return _read_plans(path, verify, None)
    except Fallback:  # a value HDF5's C API path does not convert: all of it through h5py
        return _read_plans(path, verify, "h5py")


def _read_plans(path, verify, backend):
    with library_lock():
        return _read_plans_locked(path, verify, backend)


def _read_plans_locked(path, verify, backend):
    r = _Reader(path, backend)
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


def read_blocks(path, verify=True):
    """All Blocks of the NIX file at ``path`` as ``neo.io.NixIO.read_all_blocks`` builds them.

    Raises Unsupported for files this module does not read (then read them with neo), ChecksumMismatch
    when ``verify`` and the payload differs from the stored checksum; HDF5 errors as h5py raises them.
    """
    return [to_neo(b) for b in read_plans(path, verify)]


class ReadTag(NamedTuple):
    """A SpikeTrain, Event or Epoch as read: the keyword arguments of its neo class (name, description,
    nix_name, annotations, array_annotations), its times (values and unit), labels and durations."""

    kind: str
    attrs: dict
    times: np.ndarray
    unit: str
    labels: list = None
    durations: np.ndarray = None
    durations_unit: str = None
    units: dict = None  # annotation name -> its unit, for the annotations that are quantities


class ReadSegment(NamedTuple):
    attrs: dict
    stamp: str
    events: list
    epochs: list
    trains: list


class ReadGroup(NamedTuple):
    attrs: dict
    members: list  # ReadTags of the Segments


class ReadBlock(NamedTuple):
    attrs: dict
    stamp: str
    segments: list
    groups: list


def _neo_tag(t):
    import neo

    times = _quantity(t.times, t.unit)
    if t.kind == "spiketrain":
        return neo.SpikeTrain(times=times, **t.attrs)
    if t.kind == "event":
        return neo.Event(times=times, labels=np.array(t.labels, dtype="U"), **t.attrs)
    return neo.Epoch(times=times, durations=_quantity(t.durations, t.durations_unit),
                     labels=np.array(t.labels, dtype="U") if len(t.labels) else None, **t.attrs)


def to_neo(rb):
    """The ``neo.Block`` of a :class:`ReadBlock`, as ``neo.io.NixIO`` builds it."""
    import neo

    block = neo.Block(**rb.attrs)
    block.rec_datetime = _from_stamp(rb.stamp)
    objs = {}
    for rs in rb.segments:
        seg = neo.Segment(**rs.attrs)
        seg.rec_datetime = _from_stamp(rs.stamp)
        for name, tags in (("events", rs.events), ("epochs", rs.epochs), ("spiketrains", rs.trains)):
            made = [_neo_tag(t) for t in tags]
            objs.update((id(t), o) for t, o in zip(tags, made))
            getattr(seg, name).extend(made)  # extend, not append: neo's append checks the whole list each time
        block.segments.append(seg)
    for rg in rb.groups:
        group = neo.Group(**rg.attrs)
        lists = {}
        for t in rg.members:
            lists.setdefault(t.kind + "s", []).append(objs[id(t)])
        for container, members in lists.items():
            getattr(group, container).extend(members)
        block.groups.append(group)
    block.check_relationships()
    return block
