"""The few HDF5 calls the reader makes: through HDF5's C API where it can (:mod:`.hdf5`), else through h5py.

The reader of the demo recording opens ~24,000 objects and reads ~14,000 small datasets and ~24,000 string
attributes; as for writing, h5py's Python around each call costs about as much as HDF5 itself. :class:`CRead`
makes the same calls through ``ctypes`` on h5py's own libhdf5 and reads what this package's files and
nixio's hold: variable-length strings, integers, floats and h5py's booleans. Anything else it meets (a
fixed-length string, another enum, a half float) raises :class:`Fallback`, and the caller reads the file
again through :class:`H5pyRead` (the same results, tested). Handles are the library's ids (``int``) or h5py
ObjectIDs; ``release`` closes one the reader is done with, ``close`` the file and everything still open.
"""

import ctypes

import numpy as np

from .hdf5 import _HID, _library
from .values import Unsupported

__all__ = ["Fallback", "open_reader"]


class Fallback(Exception):
    """A value the C-API reader does not convert: read the file through h5py instead."""


class H5pyRead:
    """The reader's calls through h5py's low-level API."""

    def __init__(self, fid):
        import h5py

        self.h5py = h5py
        self.fid = fid
        self.sdt = h5py.string_dtype()
        self.root = h5py.h5g.open(fid, b"/")

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

    def release(self, handle):
        pass  # h5py closes an ObjectID when the last reference goes

    def attr(self, obj, key, required=False):
        """The scalar string attribute ``key`` or None (see :meth:`_Reader.attr`)."""
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

    def has_attr(self, obj, key):
        return self.h5py.h5a.exists(obj, key.encode())

    def num_attrs(self, obj):
        return self.h5py.h5a.get_num_attrs(obj)

    def addr(self, gid, name):
        """The address of the object a hard link of ``gid`` points to, without opening it."""
        info = gid.links.get_info(name.encode("utf-8"))
        if info.type != self.h5py.h5l.TYPE_HARD:
            raise Unsupported("a soft or external link")
        return info.u

    def dataset(self, dsid):
        """(kind, values) of a 1-D dataset: 's' and a list of str, or 'i' / 'u' / 'f' / 'b' and an array."""
        from .values import _kind

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

    def close(self):
        self.h5py.File(self.fid).close()


_READ_FUNCTIONS = {
    "H5Literate2": (ctypes.c_int, [_HID, ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                   ctypes.c_void_p]),
    "H5Lexists": (ctypes.c_int, [_HID, ctypes.c_char_p, _HID]),
    "H5Lget_info2": (ctypes.c_int, [_HID, ctypes.c_char_p, ctypes.c_void_p, _HID]),
    "H5Oopen": (_HID, [_HID, ctypes.c_char_p, _HID]),
    "H5Aexists": (ctypes.c_int, [_HID, ctypes.c_char_p]),
    "H5Aopen": (_HID, [_HID, ctypes.c_char_p, _HID]),
    "H5Aread": (ctypes.c_int, [_HID, _HID, ctypes.c_void_p]),
    "H5Aget_type": (_HID, [_HID]),
    "H5Aget_space": (_HID, [_HID]),
    "H5Aget_num_attrs": (ctypes.c_int, [_HID]),
    "H5Dget_type": (_HID, [_HID]),
    "H5Dget_space": (_HID, [_HID]),
    "H5Dread": (ctypes.c_int, [_HID, _HID, _HID, _HID, _HID, ctypes.c_void_p]),
    "H5Sget_simple_extent_ndims": (ctypes.c_int, [_HID]),
    "H5Sget_simple_extent_dims": (ctypes.c_int, [_HID, ctypes.POINTER(ctypes.c_uint64), ctypes.c_void_p]),
    "H5Sget_simple_extent_type": (ctypes.c_int, [_HID]),
    "H5Tget_class": (ctypes.c_int, [_HID]),
    "H5Tget_size": (ctypes.c_size_t, [_HID]),
    "H5Tget_sign": (ctypes.c_int, [_HID]),
    "H5Tget_order": (ctypes.c_int, [_HID]),
    "H5Tis_variable_str": (ctypes.c_int, [_HID]),
    "H5Tequal": (ctypes.c_int, [_HID, _HID]),
    "H5Tclose": (ctypes.c_int, [_HID]),
    "H5free_memory": (ctypes.c_int, [ctypes.c_void_p]),
}
_NAMES_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, _HID, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p)
#: H5L_info2_t: type (int) at 0, creation order (int64) at 8, the object token (16 bytes) at 24; 40 bytes in all.
#: Checked on a file in memory before use (:func:`_reader_library`).
_LINK_INFO_SIZE, _TOKEN = 40, slice(24, 40)
_H5T_INTEGER, _H5T_FLOAT, _H5T_STRING, _H5T_ENUM = 0, 1, 3, 8
_H5I_DATASET = 5
_LIB = []


def _reader_library():
    """The C functions the reader needs, with the layout of H5L_info2_t checked, or None."""
    if not _LIB:
        lib = _library()
        try:
            if lib is not None:
                for name, (res, args) in _READ_FUNCTIONS.items():
                    f = getattr(lib, name)
                    f.restype, f.argtypes = res, args
                if not _link_info_layout_ok(lib):
                    lib = None
        except (OSError, AttributeError, ValueError):
            lib = None
        _LIB.append(lib)
    return _LIB[0]


def _link_info_layout_ok(lib):
    """Two hard links to one group and one to another, in a file in memory: their tokens and creation orders
    read from H5L_info2_t at the assumed offsets must say so."""
    import h5py

    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_fapl_core(backing_store=False)
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_link_creation_order(h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED)
    fid = h5py.h5f.create(b"synsem_ephys_probe_read.h5", h5py.h5f.ACC_TRUNC, fcpl=fcpl, fapl=fapl)
    try:
        root = h5py.h5g.open(fid, b"/")
        a = h5py.h5g.create(root, b"a")
        h5py.h5g.create(root, b"b")
        root.links.create_hard(b"c", a, b".")
        infos = []
        for name in (b"a", b"b", b"c"):
            buf = ctypes.create_string_buffer(_LINK_INFO_SIZE + 24)
            if lib.H5Lget_info2(root.id, name, buf, 0) < 0:
                return False
            raw = buf.raw
            infos.append((int.from_bytes(raw[0:4], "little", signed=True),
                          int.from_bytes(raw[8:16], "little", signed=True), raw[_TOKEN]))
        (ta, oa, ka), (tb, ob, kb), (tc, oc, kc) = infos
        return (ta, tb, tc) == (0, 0, 0) and (oa, ob, oc) == (0, 1, 2) and ka == kc and ka != kb and any(ka)
    finally:
        fid.close()


class CRead:
    """The reader's calls through HDF5's C API (``ctypes``) on the library h5py loaded."""

    def __init__(self, fid, lib):
        import h5py

        self.lib = lib
        self.fid = fid
        self.h5py = h5py
        self._root = h5py.h5g.open(fid, b"/")
        self.root = self._root.id
        self.open_ids = set()
        self._bool_t = h5py.h5t.py_create(np.dtype(bool), logical=True)
        self._dims = (ctypes.c_uint64 * 2)()
        self._info = ctypes.create_string_buffer(_LINK_INFO_SIZE + 24)
        self._names = []
        self._callback = _NAMES_CALLBACK(self._collect)

    def _collect(self, gid, name, info, data):
        self._names.append(name)
        return 0

    def names(self, gid):
        self._names = out = []
        if self.lib.H5Literate2(gid, 1, 0, None, ctypes.cast(self._callback, ctypes.c_void_p), None) < 0:
            raise Unsupported("a group without link creation order")  # (or not a group)
        return [n.decode("utf-8") for n in out]

    def has(self, gid, name):
        r = self.lib.H5Lexists(gid, name.encode("utf-8"), 0)
        if r < 0:
            raise OSError(f"HDF5: checking the link {name!r} failed")
        return r > 0

    def open(self, gid, name):
        oid = self.lib.H5Oopen(gid, name.encode("utf-8"), 0)
        if oid < 0:
            raise KeyError(f"HDF5: cannot open {name!r}")
        self.open_ids.add(oid)
        return oid

    def release(self, handle):
        if handle in self.open_ids:
            self.open_ids.discard(handle)
            self.lib.H5Oclose(handle)

    def has_attr(self, obj, key):
        r = self.lib.H5Aexists(obj, key.encode())
        if r < 0:
            raise OSError(f"HDF5: checking the attribute {key!r} failed")
        return r > 0

    def num_attrs(self, obj):
        n = self.lib.H5Aget_num_attrs(obj)
        if n < 0:
            raise OSError("HDF5: counting attributes failed")
        return n

    def attr(self, obj, key, required=False):
        lib = self.lib
        k = key.encode()
        if not required and not self.has_attr(obj, key):
            return None
        aid = lib.H5Aopen(obj, k, 0)
        if aid < 0:
            if required and not self.has_attr(obj, key):
                return None
            raise OSError(f"HDF5: opening the attribute {key!r} failed")
        try:
            sid = lib.H5Aget_space(aid)
            try:
                if lib.H5Sget_simple_extent_type(sid) != 0:  # H5S_SCALAR
                    raise Fallback(f"an attribute {key} that is not a scalar")
            finally:
                lib.H5Sclose(sid)
            tid = lib.H5Aget_type(aid)
            try:
                if lib.H5Tget_class(tid) != _H5T_STRING:
                    raise Unsupported(f"a non-string attribute {key}")
                if lib.H5Tis_variable_str(tid) <= 0:
                    raise Fallback(f"the fixed-length string attribute {key}")
                buf = ctypes.c_void_p()
                # read in its own type (ASCII or UTF-8): HDF5 converts no string between character sets
                if lib.H5Aread(aid, tid, ctypes.byref(buf)) < 0:
                    raise OSError(f"HDF5: reading the attribute {key!r} failed")
            finally:
                lib.H5Tclose(tid)
            if not buf.value:
                return ""
            try:
                return ctypes.string_at(buf.value).decode("utf-8", "surrogateescape")
            finally:
                lib.H5free_memory(buf)
        finally:
            lib.H5Aclose(aid)

    def addr(self, gid, name):
        """The token of the object a hard link of ``gid`` points to (bytes), without opening it."""
        buf = self._info
        if self.lib.H5Lget_info2(gid, name.encode("utf-8"), buf, 0) < 0:
            raise OSError(f"HDF5: reading the link {name!r} failed")
        raw = buf.raw
        if raw[0:4] != b"\0\0\0\0":  # H5L_TYPE_HARD
            raise Unsupported("a soft or external link")
        return raw[_TOKEN]

    def _dtype(self, tid):
        lib = self.lib
        cls = lib.H5Tget_class(tid)
        size = lib.H5Tget_size(tid)
        if cls == _H5T_STRING:
            if lib.H5Tis_variable_str(tid) <= 0:
                raise Fallback("a dataset of fixed-length strings")
            return None
        if cls == _H5T_ENUM:
            if lib.H5Tequal(tid, self._bool_t.id) > 0:
                return np.dtype(bool)
            raise Fallback("an enum dataset")
        order = "<" if lib.H5Tget_order(tid) == 0 else ">"
        if cls == _H5T_INTEGER and size in (1, 2, 4, 8):
            return np.dtype(f"{order}{'i' if lib.H5Tget_sign(tid) == 1 else 'u'}{size}")
        if cls == _H5T_FLOAT and size in (4, 8):
            return np.dtype(f"{order}f{size}")
        if cls in (_H5T_INTEGER, _H5T_FLOAT):
            raise Fallback("a number of unusual size")
        raise Unsupported("a dataset of a type that is not a number or a string")

    def dataset(self, did):
        """(kind, values) of a 1-D dataset, as :meth:`H5pyRead.dataset`."""
        from .values import _kind

        lib = self.lib
        if lib.H5Iget_type(did) != _H5I_DATASET:
            raise Unsupported("a group where a dataset belongs")
        sid = lib.H5Dget_space(did)
        try:
            if lib.H5Sget_simple_extent_ndims(sid) != 1:
                raise Unsupported("a dataset of more than one dimension")
            lib.H5Sget_simple_extent_dims(sid, self._dims, None)
        finally:
            lib.H5Sclose(sid)
        n = int(self._dims[0])
        tid = lib.H5Dget_type(did)
        try:
            dtype = self._dtype(tid)
            if dtype is None:  # variable-length strings, read in their own type (as attributes)
                if not n:
                    return "s", []
                ptrs = (ctypes.c_void_p * n)()
                if lib.H5Dread(did, tid, 0, 0, 0, ptrs) < 0:
                    raise OSError("HDF5: reading a dataset failed")
                out = []
                for p in ptrs:
                    out.append(ctypes.string_at(p).decode("utf-8", "surrogateescape") if p else "")
                    if p:
                        lib.H5free_memory(p)
                return "s", out
        finally:
            lib.H5Tclose(tid)
        out = np.empty(n, dtype=dtype)
        if n:
            mtid = self._mem_type(dtype)
            if lib.H5Dread(did, mtid, 0, 0, 0, out.ctypes.data) < 0:
                raise OSError("HDF5: reading a dataset failed")
        return _kind(dtype), out

    def _mem_type(self, dtype):
        cache = self.__dict__.setdefault("_mem_types", {})
        t = cache.get(dtype.str)
        if t is None:
            t = cache[dtype.str] = self.h5py.h5t.py_create(dtype, logical=True)
        return t.id

    def close(self):
        for handle in self.open_ids:
            self.lib.H5Oclose(handle)
        self.open_ids.clear()
        self.h5py.File(self.fid).close()


def open_reader(fid, backend=None):
    """The calls of the reader on the open file ``fid`` (h5py FileID): :class:`CRead` where HDF5's C API is
    reachable, else :class:`H5pyRead` (``backend``: "capi" or "h5py" to choose)."""
    lib = _reader_library() if backend in (None, "capi") else None
    if lib is None and backend == "capi":
        raise OSError("HDF5's C API is not reachable through h5py's extension modules")
    return CRead(fid, lib) if lib is not None else H5pyRead(fid)
