"""The few HDF5 calls the writer makes, through HDF5's C API where it can, else through h5py's low-level API.

Why: a NIX file of the demo recording is ~110,000 HDF5 calls (groups, string attributes, small datasets,
hard links: ~10 objects and ~25 attributes per SpikeTrain). h5py's low-level API spends about as long in
Python around each call as HDF5 spends in it (an ObjectID made and registered per object, the lock, a
numpy array per string attribute); calling the same functions of the same library (the libhdf5 that h5py
loaded, found through its own extension module, so every id is shared with h5py) with ``ctypes`` takes
~0.6x the time. Where that library or one of its functions cannot be found (another platform, another
build), :class:`H5py` makes the same calls through h5py, and the file is the same.

Handles are the library's ids (``int``) for :class:`CApi` and h5py ObjectIDs for :class:`H5py`; the writer
only passes them back. ``close`` closes a handle the writer is done with; ``close_all`` every handle still
open (also after an error, so the file is closed and can be overwritten).
"""

import contextlib
import ctypes

import numpy as np

__all__ = ["library_lock", "open_writer"]

#: Datasets of at most this many bytes are stored compact, inside their object header (HDF5 allows < 64 KiB
#: for the whole header, attributes included).
COMPACT_MAX = 8192


class _Common:
    def __init__(self, path):
        import h5py

        self.h5py = h5py
        fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
        fcpl.set_link_creation_order(h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED)
        self.fid = h5py.h5f.create(str(path).encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl)
        self.h5root = h5py.h5g.open(self.fid, b"/")
        self.gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
        self.gcpl.set_link_creation_order(h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED)
        self.scalar = h5py.h5s.create(h5py.h5s.SCALAR)
        self.sdt = h5py.string_dtype("utf-8")
        self.utf8 = h5py.h5t.py_create(self.sdt, logical=True)
        self.ascii = h5py.h5t.py_create(h5py.string_dtype("ascii"), logical=True)
        self.compact = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        self.compact.set_layout(h5py.h5d.COMPACT)
        self.contiguous = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        for dcpl in (self.compact, self.contiguous):
            dcpl.set_obj_track_times(False)
        self._tids = {}

    def version(self, version):
        """The file's attribute ``version``: int32 values."""
        h5py = self.h5py
        h5py.h5a.create(self.h5root, b"version", h5py.h5t.py_create(np.dtype(np.int32)),
                        h5py.h5s.create_simple((len(version),))).write(np.array(version, dtype=np.int32))

    def tid(self, dtype):
        """The HDF5 type of a numpy dtype (variable-length UTF-8 for strings, 'O')."""
        key = dtype.str
        t = self._tids.get(key)
        if t is None:
            t = self._tids[key] = self.utf8 if dtype.kind == "O" else self.h5py.h5t.py_create(dtype, logical=True)
        return t

    def dcpl(self, n, itemsize):
        """Compact when small, else contiguous: fixed-size 1-D datasets (nixio's are chunked and resizable, whose
        chunk index costs ~2 KB of file and ~1.5x the time of each small dataset; readers see the same values)."""
        return self.compact if n * itemsize <= COMPACT_MAX else self.contiguous

    def close_file(self):
        self.h5py.File(self.fid).close()


class H5py(_Common):
    """The calls through h5py's low-level API."""

    def __init__(self, path):
        super().__init__(path)
        self.root = self.h5root

    def group(self, parent, name):
        return self.h5py.h5g.create(parent, name.encode("utf-8"), gcpl=self.gcpl)

    def attr(self, obj, key, value, ascii=False):
        self.h5py.h5a.create(obj, key.encode(), self.ascii if ascii else self.utf8, self.scalar).write(
            np.array(value, dtype=self.sdt))

    def link(self, parent, name, loc, loc_name="."):
        """The hard link ``parent/name`` to the object ``loc_name`` of ``loc``."""
        parent.links.create_hard(name.encode("utf-8"), loc, loc_name.encode("utf-8"))

    def dataset(self, parent, name, data):
        """A 1-D dataset of ``data`` (a numpy array, or a list of str)."""
        h5py = self.h5py
        if isinstance(data, list):
            data = np.array(data, dtype=self.sdt)
        n = data.shape[0]
        dsid = h5py.h5d.create(parent, name.encode("utf-8"), self.tid(data.dtype), h5py.h5s.create_simple((n,)),
                               dcpl=self.dcpl(n, 16 if data.dtype.kind == "O" else data.dtype.itemsize))
        if n:
            dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, data)
        return dsid

    def close(self, handle):
        pass  # h5py closes an ObjectID when the last reference goes

    def close_all(self):
        self.close_file()


_HID = ctypes.c_int64
_FUNCTIONS = {  # name: (result, argument types)
    "H5Gcreate2": (_HID, [_HID, ctypes.c_char_p, _HID, _HID, _HID]),
    "H5Gclose": (ctypes.c_int, [_HID]),
    "H5Acreate2": (_HID, [_HID, ctypes.c_char_p, _HID, _HID, _HID, _HID]),
    "H5Awrite": (ctypes.c_int, [_HID, _HID, ctypes.c_void_p]),
    "H5Aclose": (ctypes.c_int, [_HID]),
    "H5Screate_simple": (_HID, [ctypes.c_int, ctypes.POINTER(ctypes.c_uint64), ctypes.c_void_p]),
    "H5Sclose": (ctypes.c_int, [_HID]),
    "H5Dcreate2": (_HID, [_HID, ctypes.c_char_p, _HID, _HID, _HID, _HID, _HID]),
    "H5Dwrite": (ctypes.c_int, [_HID, _HID, _HID, _HID, _HID, ctypes.c_void_p]),
    "H5Dclose": (ctypes.c_int, [_HID]),
    "H5Lcreate_hard": (ctypes.c_int, [_HID, ctypes.c_char_p, _HID, ctypes.c_char_p, _HID, _HID]),
    "H5Oclose": (ctypes.c_int, [_HID]),
    "H5Iget_type": (ctypes.c_int, [_HID]),
}
_LIB = []


def _library():
    """The functions of the libhdf5 h5py uses (found through its extension module), or None."""
    if not _LIB:
        lib = None
        try:
            import h5py
            import h5py.h5

            lib = ctypes.PyDLL(h5py.h5.__file__)  # PyDLL: the GIL stays held, as h5py holds its lock
            for name, (res, args) in _FUNCTIONS.items():
                f = getattr(lib, name)
                f.restype, f.argtypes = res, args
            # the same library as h5py's only if an id of h5py's is valid in it: a file in memory, H5I_FILE = 1
            fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
            fapl.set_fapl_core(backing_store=False)
            fid = h5py.h5f.create(b"synsem_ephys_probe.h5", h5py.h5f.ACC_TRUNC, fapl=fapl)
            try:
                if lib.H5Iget_type(fid.id) != 1:
                    lib = None
            finally:
                fid.close()
        except (OSError, AttributeError, ImportError, ValueError):
            lib = None
        _LIB.append(lib)
    return _LIB[0]


class CApi(_Common):
    """The calls through HDF5's C API (``ctypes``), on the library h5py loaded."""

    def __init__(self, path, lib):
        super().__init__(path)
        self.lib = lib
        self.root = self.h5root.id
        self.open = set()
        self._gcpl, self._scalar = self.gcpl.id, self.scalar.id
        self._utf8, self._ascii = self.utf8.id, self.ascii.id
        self._dims = (ctypes.c_uint64 * 1)()

    @staticmethod
    def _check(value, what):
        if value < 0:
            raise OSError(f"HDF5: {what} failed")
        return value

    def group(self, parent, name):
        gid = self._check(self.lib.H5Gcreate2(parent, name.encode("utf-8"), 0, self._gcpl, 0), f"creating group {name}")
        self.open.add(gid)
        return gid

    def attr(self, obj, key, value, ascii=False):
        lib = self.lib
        tid = self._ascii if ascii else self._utf8
        aid = self._check(lib.H5Acreate2(obj, key.encode(), tid, self._scalar, 0, 0), f"creating attribute {key}")
        try:
            buf = ctypes.c_char_p(value.encode("utf-8", "surrogatepass"))
            self._check(lib.H5Awrite(aid, tid, ctypes.byref(buf)), f"writing attribute {key}")
        finally:
            lib.H5Aclose(aid)

    def link(self, parent, name, loc, loc_name="."):
        """The hard link ``parent/name`` to the object ``loc_name`` of ``loc``."""
        self._check(self.lib.H5Lcreate_hard(loc, loc_name.encode("utf-8"), parent, name.encode("utf-8"), 0, 0),
                    f"linking {name}")

    def dataset(self, parent, name, data):
        """A 1-D dataset of ``data`` (a numpy array, or a list of str)."""
        lib = self.lib
        strings = isinstance(data, list)
        n = len(data)
        if strings:
            tid, itemsize = self._utf8, 16
        else:
            data = np.ascontiguousarray(data)
            tid, itemsize = self.tid(data.dtype).id, data.dtype.itemsize
        self._dims[0] = n
        sid = self._check(lib.H5Screate_simple(1, self._dims, None), "creating a dataspace")
        try:
            did = self._check(lib.H5Dcreate2(parent, name.encode("utf-8"), tid, sid, 0, self.dcpl(n, itemsize).id, 0),
                              f"creating dataset {name}")
        finally:
            lib.H5Sclose(sid)
        self.open.add(did)
        if n:
            if strings:
                buf = (ctypes.c_char_p * n)(*[s.encode("utf-8", "surrogatepass") for s in data])
                ptr = ctypes.cast(buf, ctypes.c_void_p)
            else:
                ptr = data.ctypes.data
            self._check(lib.H5Dwrite(did, tid, 0, 0, 0, ptr), f"writing dataset {name}")
        return did

    def close(self, handle):
        if handle in self.open:
            self.open.discard(handle)
            self.lib.H5Oclose(handle)

    def close_all(self):
        for handle in self.open:
            self.lib.H5Oclose(handle)
        self.open.clear()
        self.close_file()


def library_lock():
    """h5py's lock around the HDF5 library (``phil``, re-entrant): h5py takes it for each call; the writer and
    reader hold it for a whole file, since their C-API calls bypass h5py (HDF5 is not thread-safe)."""
    try:
        from h5py._objects import phil
    except ImportError:  # another h5py: its own calls still lock
        return contextlib.nullcontext()
    return phil


def open_writer(path, backend=None):
    """A new HDF5 file at ``path`` (overwritten) and the calls to fill it: :class:`CApi` where HDF5's C API is
    reachable, else :class:`H5py` (``backend``: "capi" or "h5py" to choose)."""
    lib = _library() if backend in (None, "capi") else None
    if lib is None and backend == "capi":
        raise OSError("HDF5's C API is not reachable through h5py's extension modules")
    return CApi(path, lib) if lib is not None else H5py(path)
