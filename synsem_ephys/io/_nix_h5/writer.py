"""The writer: a neo Block (or a record's canonical objects, :mod:`.direct`) as the HDF5 objects nixio makes."""

import os
import uuid

import numpy as np

from .hdf5 import library_lock, open_writer
from .plan import plan_of_block
from .values import (
    CHECKSUM_SCHEME,
    CHECKSUM_SECTION,
    NIX_VERSION,
    Unsupported,
    _bad_label,
    _Digest,
    _entry,
    _key,
    _kind,
    _stamp,
)

__all__ = ["write_block", "write_plan"]


class _Writer:
    def __init__(self, path, backend=None):
        from nixio.util import now_int

        self.h = h = open_writer(path, backend)
        self.now = _stamp(now_int())
        self.digest = _Digest()
        self._children = {}
        self.ids = _ids()
        root = h.root
        h.attr(root, "format", "nix", ascii=True)
        h.version(NIX_VERSION)
        h.attr(root, "id", next(self.ids))
        h.attr(root, "created_at", self.now, ascii=True)
        h.attr(root, "updated_at", self.now, ascii=True)
        self.data = h.group(root, "data")
        self.metadata = h.group(root, "metadata")

    # ------------------------------------------------------------------ HDF5 primitives
    def child(self, parent, name):
        """The sub-group ``name`` of ``parent``, created on first use (as nixio creates them)."""
        key = (parent if isinstance(parent, int) else id(parent), name)
        gid = self._children.get(key)
        if gid is None:
            gid = self._children[key] = (parent, self.h.group(parent, name))
        return gid[1]

    def entity(self, parent, name, type_, definition=None, created=None, eid=None, updated=True):
        """An entity group; ``updated=False`` (the thousands of per-object entities) leaves out ``updated_at``,
        which nixio writes but neither nixio's validator nor neo reads (~20 us of HDF5 each)."""
        attr = self.h.attr
        gid = self.h.group(parent, name)
        attr(gid, "name", name)
        attr(gid, "type", type_)
        attr(gid, "entity_id", eid or next(self.ids))
        attr(gid, "created_at", created or self.now, ascii=True)
        if updated:
            attr(gid, "updated_at", self.now, ascii=True)
        if definition is not None:
            attr(gid, "definition", str(definition))
        return gid

    # ------------------------------------------------------------------ NIX objects
    def section(self, parent_sections, name, type_, updated=True):
        return self.entity(parent_sections, name, type_, updated=updated)

    def write_entries(self, section, entries, digest=True):
        """All properties of ``section`` (its ``properties`` group is made here, once, when there are any)."""
        if not entries:
            return
        h = self.h
        props = h.group(section, "properties")
        seen = set()
        for entry in entries:
            name, _, values, unit, definition, ptype = entry
            if name in seen:
                raise Unsupported(f"the property {name!r} twice")
            seen.add(name)
            dsid = h.dataset(props, name, values)
            h.attr(dsid, "name", name)
            h.attr(dsid, "entity_id", next(self.ids))  # no created_at, updated_at: see the module docstring
            if unit is not None:
                h.attr(dsid, "unit", unit)
            if definition is not None:
                h.attr(dsid, "definition", definition)
            if ptype is not None:
                h.attr(dsid, "type", ptype)
            h.close(dsid)
            if digest:
                self.digest.prop(*entry)
        h.close(props)

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
            self.write_entries(common, kept, digest=False)
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
                    self.write_entries(sec, cls_entries, digest=False)
                    if common is not None:
                        self.h.link(sec, "link", common[0])
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
        h = self.h
        da = self.entity(self.child(block, "data_arrays"), name, type_, updated=False)
        h.attr(da, "unit", unit)
        h.close(h.dataset(da, "data", mag))
        self.digest.text(unit)
        self.digest.values(kind, mag)
        if labels is not None:
            labels = [str(x) if isinstance(x, str) else _bad_label(x) for x in labels]
            dims = h.group(da, "dimensions")
            dim = h.group(dims, "1")
            h.attr(dim, "dimension_type", "set")
            h.close(h.dataset(dim, "labels", labels))
            h.close(dim)
            h.close(dims)
            self.digest.values("s", labels)
        return da

    def tag(self, block, seg_group, seg_section, t, entries=None, shared=None):
        """The multi tag of ``t`` (a :class:`.plan.TagPlan`), its data arrays and metadata section; ``entries``
        instead of ``t.entries`` and ``shared`` (section, its entries) to link to: see shared_sections."""
        name, kind = t.name, t.kind
        if name in self.tags:
            raise Unsupported(f"the object {name!r} twice")
        self.header(f"neo.{kind}", t.description)
        h = self.h
        sec = self.section(self.child(seg_section, "sections"), name, f"neo.{kind}.metadata", False)
        self.write_entries(sec, t.entries if entries is None else entries)
        if shared is not None:  # properties inherited from a linked section, hashed as neo reads them
            h.link(sec, "link", shared[0])
            for entry in shared[1]:
                self.digest.prop(*entry)
        times = self.data_array(block, f"{name}.times", f"neo.{kind}.times", t.times, t.unit,
                                None if kind == "spiketrain" else t.labels)
        ext = None
        if kind == "epoch":
            ext = self.data_array(block, f"{name}.durations", "neo.epoch.durations", t.durations, t.durations_unit)
        eid = next(self.ids)
        tags = self.child(block, "multi_tags")
        mt = self.entity(tags, name, f"neo.{kind}", definition=t.description, eid=eid, updated=False)
        h.link(mt, "positions", times)
        h.close(times)
        if ext is not None:
            h.link(mt, "extents", ext)
            h.close(ext)
        h.link(mt, "metadata", sec)
        h.close(sec)
        h.link(self.child(seg_group, "multi_tags"), eid, mt)
        h.close(mt)
        self.tags[name] = (tags, eid, len(self.tags))
        if t.key is not None:
            self.by_key[t.key] = name

    def block(self, plan):
        """Write a :class:`.plan.BlockPlan`: neo's file section first, as neo.io.NixIO writes it."""
        import neo

        neo_sec = self.section(self.metadata, "neo", "neo.metadata")
        self.write_entries(neo_sec, [_entry("version", neo.__version__)], digest=False)
        self.tags, self.by_key = {}, {}
        blk = self.entity(self.data, plan.name, "neo.block", definition=plan.description, created=plan.created)
        bsec = self.section(self.metadata, plan.name, "neo.block.metadata")
        self.h.link(blk, "metadata", bsec)
        self.header("neo.block", plan.description, plan.created or self.now)
        self.write_entries(bsec, plan.entries)
        names = set()
        for seg in plan.segments:
            if seg.name in names:
                raise Unsupported(f"the Segment {seg.name!r} twice")
            names.add(seg.name)
            sg = self.entity(self.child(blk, "groups"), seg.name, "neo.segment", definition=seg.description,
                             created=seg.created)
            ssec = self.section(self.child(bsec, "sections"), seg.name, "neo.segment.metadata")
            self.h.link(sg, "metadata", ssec)
            self.header("neo.segment", seg.description, seg.created or self.now)
            self.write_entries(ssec, seg.entries)
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
            self.h.link(gg, "metadata", gsec)
            self.header("neo.group", group.description)
            self.write_entries(gsec, group.entries)
            members = []
            for key in group.members:
                tname = self.by_key.get(key)
                if tname is None:  # neo refuses it ("Orphan ... cannot be stored"): let it say so
                    raise Unsupported("a Group object outside the Block's Segments")
                tags, eid, index = self.tags[tname]
                self.h.link(self.child(gg, "multi_tags"), eid, tags, tname)
                members.append(index)
            self.digest.values("i", np.array(members, dtype=np.int64))

    def checksum(self):
        sec = self.section(self.metadata, CHECKSUM_SECTION, CHECKSUM_SECTION)
        self.write_entries(sec, [_entry("scheme", CHECKSUM_SCHEME), _entry("payload_sha256", self.digest.hexdigest())],
                           digest=False)

    def close(self):
        self.h.close_all()


#: Share properties between SpikeTrains only from this many trains in a Segment on (below: neo's own layout).
_SHARE_MIN = 8
#: A property goes into a shared section when it takes at most one distinct value per this many trains.
_SHARE_RATIO = 4
_SHARED_TYPE = "synsem_ephys.shared_annotations"


def _ids():
    """Entity ids as nixio makes them (random UUIDs, version 4), from one draw of random bytes per 4,096."""
    while True:
        raw = np.frombuffer(os.urandom(16 * 4096), np.uint8).reshape(-1, 16).copy()
        raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
        raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
        hexes = raw.tobytes().hex()
        for k in range(0, len(hexes), 32):
            x = hexes[k:k + 32]
            yield f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def write_block(block, path):
    """Write ``block`` to a new NIX file at ``path`` (overwritten) as neo.io.NixIO would, with the checksum.

    Raises Unsupported (the file is then incomplete: write it again with neo) for what this module does not
    handle (see the module docstring).
    """
    write_plan(plan_of_block(block), path)


def write_plan(plan, path, backend=None):
    """Write a :class:`.plan.BlockPlan` to a new NIX file at ``path`` (overwritten), with the checksum.
    ``backend``: "capi" or "h5py" (:func:`.hdf5.open_writer`), default the fastest there is."""
    with library_lock():
        w = _Writer(path, backend)
        try:
            w.block(plan)
            w.checksum()
        finally:
            w.close()

