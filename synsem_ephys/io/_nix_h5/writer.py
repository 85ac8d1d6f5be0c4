"""The writer: a neo Block (or a record's canonical objects, :mod:`.direct`) as the HDF5 objects nixio makes."""

import uuid

import numpy as np

from .plan import plan_of_block
from .values import (
    _CANON,
    CHECKSUM_SCHEME,
    CHECKSUM_SECTION,
    NIX_VERSION,
    Unsupported,
    _bad_label,
    _Digest,
    _entries,
    _entry,
    _key,
    _kind,
)

__all__ = ["write_block", "write_plan"]


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
        names = [{x[0]: _key(x) for x in es[1:] if x[5] is None} for es in entries]  # not neo_name
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

    def header(self, type_, description, created=None):
        d = self.digest
        d.text(type_)
        d.text(None if description is None else str(description))
        d.text(created)

    def data_array(self, block, name, type_, mag, unit, labels=None):
        mag = np.ascontiguousarray(mag)
        if mag.ndim != 1:
            raise Unsupported(f"{type_} data of {mag.ndim} dimensions")
        kind = _kind(mag.dtype)
        if kind == "s":
            raise Unsupported(f"{type_} data of strings")
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

    def tag(self, block, seg_group, seg_section, t, entries=None, shared=None):
        """The multi tag of ``t`` (a :class:`.plan.TagPlan`), its data arrays and metadata section; ``entries``
        instead of ``t.entries`` and ``shared`` (section, its entries) to link to: see shared_sections."""
        name, kind = t.name, t.kind
        if name in self.tags:
            raise Unsupported(f"the object {name!r} twice")
        self.header(f"neo.{kind}", t.description)
        sec = self.section(self.child(seg_section, "sections"), name, f"neo.{kind}.metadata", False)
        for entry in t.entries if entries is None else entries:
            self.write_entry(sec, entry)
        if shared is not None:  # properties inherited from a linked section, hashed as neo reads them
            self.link(sec, "link", shared[0])
            for entry in shared[1]:
                self.digest.prop(*entry)
        times = self.data_array(block, f"{name}.times", f"neo.{kind}.times", t.times, t.unit,
                                None if kind == "spiketrain" else t.labels)
        ext = None
        if kind == "epoch":
            ext = self.data_array(block, f"{name}.durations", "neo.epoch.durations", t.durations, t.durations_unit)
        eid = str(uuid.uuid4())
        mt = self.entity(self.child(block, "multi_tags"), name, f"neo.{kind}", definition=t.description, eid=eid,
                         updated=False)
        self.link(mt, "positions", times)
        if ext is not None:
            self.link(mt, "extents", ext)
        self.link(mt, "metadata", sec)
        self.link(self.child(seg_group, "multi_tags"), eid, mt)
        self.tags[name] = (mt, eid, len(self.tags))
        if t.key is not None:
            self.by_key[t.key] = name

    def block(self, plan):
        """Write a :class:`.plan.BlockPlan`: neo's file section first, as neo.io.NixIO writes it."""
        import neo

        neo_sec = self.section(self.metadata, "neo", "neo.metadata")
        self.prop(neo_sec, "version", neo.__version__, digest=False)
        self.tags, self.by_key = {}, {}
        blk = self.entity(self.data, plan.name, "neo.block", definition=plan.description, created=plan.created)
        bsec = self.section(self.metadata, plan.name, "neo.block.metadata")
        self.link(blk, "metadata", bsec)
        self.header("neo.block", plan.description, plan.created or self.now)
        for entry in plan.entries:
            self.write_entry(bsec, entry)
        names = set()
        for seg in plan.segments:
            if seg.name in names:
                raise Unsupported(f"the Segment {seg.name!r} twice")
            names.add(seg.name)
            sg = self.entity(self.child(blk, "groups"), seg.name, "neo.segment", definition=seg.description,
                             created=seg.created)
            ssec = self.section(self.child(bsec, "sections"), seg.name, "neo.segment.metadata")
            self.link(sg, "metadata", ssec)
            self.header("neo.segment", seg.description, seg.created or self.now)
            for entry in seg.entries:
                self.write_entry(ssec, entry)
            for t in seg.tags:
                self.tag(blk, sg, ssec, t)
            trains = seg.trains
            for t, (own, shared) in zip(trains, self.shared_sections(ssec, trains, [t.entries for t in trains])):
                self.tag(blk, sg, ssec, t, own, shared)
        for group in plan.groups:
            if group.name in names:
                raise Unsupported(f"the Group {group.name!r} twice")
            names.add(group.name)
            gg = self.entity(self.child(blk, "groups"), group.name, "neo.group", definition=group.description)
            gsec = self.section(self.child(bsec, "sections"), group.name, "neo.group.metadata")
            self.link(gg, "metadata", gsec)
            self.header("neo.group", group.description)
            for entry in group.entries:
                self.write_entry(gsec, entry)
            members = []
            for key in group.members:
                tname = self.by_key.get(key)
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


def write_block(block, path):
    """Write ``block`` to a new NIX file at ``path`` (overwritten) as neo.io.NixIO would, with the checksum.

    Raises Unsupported (the file is then incomplete: write it again with neo) for what this module does not
    handle (see the module docstring).
    """
    write_plan(plan_of_block(block), path)


def write_plan(plan, path):
    """Write a :class:`.plan.BlockPlan` to a new NIX file at ``path`` (overwritten), with the checksum."""
    w = _Writer(path)
    try:
        w.block(plan)
        w.checksum()
    finally:
        w.close()

