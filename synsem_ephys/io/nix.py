"""NIX files in neo's layout (plain ``neo.io.NixIO`` reads them): every annotation and array annotation is kept.

Fast path: a SpikeRecord is written straight from the record (``io.canonical`` -> ``_nix_h5.direct``: the same
file as ``to_block`` + the Block writer, without ~2,400 neo objects) and read straight back into one
(``_nix_h5.read_plans`` -> ``io._nix_record``: the same record as ``from_block(read_nix(path))``). Blocks
of Segments with SpikeTrains, Events, Epochs and Groups of those (the canonical Block of a SpikeRecord)
are written and read by :mod:`synsem_ephys.io._nix_h5`, which creates and reads nixio's HDF5 objects
directly (neo.io.NixIO costs ~6 ms of Python per SpikeTrain each way); annotations shared by many
SpikeTrains (t_start, t_stop, a population's layer and cell type) are stored once in a section that the
trains' sections link to (nixio's section links: neo reads them as each train's own). Any other Block or
file (signals, waveforms, nested groups, files of other tools) goes through ``neo.io.NixIO``.

Checksum: the fast writer stores a SHA-256 of the payload in the file-level section
``synsem_ephys.checksum`` (neo does not read it); :func:`read_nix` and :func:`read_nix_record` check it and
raise DataFormatError naming the file when the data read differ (a flipped bit). Files without it read as
before.

Writes are atomic: the file is written next to its destination and moved into place with ``os.replace``; the
writer runs in a forked child process where the platform allows it (HDF5 crashes its process after a full
disk: :func:`synsem_ephys._files.write_path_atomic`), so a full disk is one clear DiskFullError.

Speed: ``neo.io.NixIO`` writes a numpy array annotation value by value through Python lists (~8 us a
spike for the per-spike ``trial`` annotation: 2 min for 16 M spikes) and looks every new property up
again by name; nixio spends ~2 ms of Python per property. :class:`_FastNixIO` writes 1-D numeric
arrays, numbers and non-empty strings (90 % of a Block's properties) with a few h5py calls in
nixio's own layout (:func:`_write_h5_property`); other values go through neo unchanged. The file
holds the same properties, with the same types, units and attributes, and plain ``neo.io.NixIO``
reads it (tested). The ``nix_name`` annotation is not written as a property: neo sets it from the
object's name on reading. nixio's re-stamping of ``updated_at`` after every change is turned off
(objects keep their ``created_at``).
"""

import contextlib
import gc

import numpy as np

from .._files import existing_file, write_path_atomic
from ..errors import DataFormatError, input_error
from ..optional import require
from ..record import SpikeRecord
from . import _nix_record as _direct
from .layout import restore_list_annotations

__all__ = ["write_nix", "read_nix", "read_nix_record"]


def _fast_nixio_class():
    from neo.io import NixIO

    class _FastNixIO(NixIO):
        def __init__(self, filename, mode="rw"):
            super().__init__(filename, mode)
            # created_at is still stamped on every object; skipping the re-stamping of updated_at on
            # each change saves several HDF5 attribute writes per annotation
            self.nix_file.auto_update_timestamps = False
            self._last_section = self._last_group = None

        def _write_property(self, section, name, v):
            import nixio
            import quantities as pq

            if name == "nix_name":  # neo restores it from the NIX object's own name when reading
                return None
            if isinstance(v, pq.Quantity) and v.ndim == 0 and v.dtype.kind == "f":
                prop = self._write_property(section, name, float(v.magnitude))
                prop.unit = str(v.dimensionality)
                return prop
            if type(v) is np.ndarray and v.ndim == 1 and v.size > 1 and v.dtype.kind in "if" and v.dtype.itemsize == 8:
                values, dtype = np.ascontiguousarray(v), v.dtype
            elif isinstance(v, np.generic) and v.dtype.kind in "biuf":
                values = [v.item()]
                dtype = nixio.DataType.get_dtype(values[0])
            elif type(v) in (int, float, bool) or (type(v) is str and v):
                values, dtype = [v], nixio.DataType.get_dtype(v)
            else:
                return super()._write_property(section, name, v)
            if section is not self._last_section:  # neo writes all properties of an object in a row
                self._last_section = section
                self._last_group = section._h5group.open_group("properties", True).group
            return _write_h5_property(self._last_group, name, values, dtype)

    return _FastNixIO


class _H5Property:
    """What neo needs of a freshly written property: setting ``type``, ``unit`` and ``definition``."""

    def __init__(self, dataset):
        object.__setattr__(self, "_ds", dataset)

    def __setattr__(self, key, value):
        if key not in ("type", "unit", "definition"):
            raise AttributeError(key)
        if value is None:
            if key in self._ds.attrs:
                del self._ds.attrs[key]
        else:
            self._ds.attrs[key] = value


def _write_h5_property(group, name, values, dtype):
    """Write a NIX property as nixio lays it out (a resizable chunked dataset under the section's
    ``properties`` group with string attributes name, entity_id, created_at, updated_at), through
    h5py's low-level API: ~2.5x fewer microseconds than ``attrs[...] = ...`` and ``create_dataset``."""
    import h5py
    from nixio import util as nixutil
    from nixio.property import Property

    if name in group:
        raise input_error("annotations", "unique annotation names per object", f"{name!r} twice")
    h5dtype = Property._make_h5_dtype(dtype)
    is_str = h5dtype is nixutil.vlen_str_dtype
    data = np.array(values, dtype=h5py.string_dtype("utf-8") if is_str else h5dtype)
    n = data.shape[0]
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk((max(1, min(n, 65536)),))
    dcpl.set_obj_track_times(False)  # as h5py's create_dataset
    space = h5py.h5s.create_simple((n,), (h5py.h5s.UNLIMITED,))
    dsid = h5py.h5d.create(group.id, name.encode("utf-8"), h5py.h5t.py_create(data.dtype, logical=True), space,
                           dcpl=dcpl)
    dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, data)
    now = nixutil.time_to_str(nixutil.now_int())
    sdt, tid, scalar = _str_attr_types()
    for key, val in ((b"name", name), (b"entity_id", nixutil.create_id()), (b"created_at", now), (b"updated_at", now)):
        h5py.h5a.create(dsid, key, tid, scalar).write(np.array(val, dtype=sdt))
    return _H5Property(h5py.Dataset(dsid))


_STR_ATTR = []


def _str_attr_types():
    """(numpy dtype, HDF5 type, scalar space) of a variable-length UTF-8 string attribute, made once."""
    if not _STR_ATTR:
        import h5py

        sdt = h5py.string_dtype("utf-8")
        _STR_ATTR.extend((sdt, h5py.h5t.py_create(sdt, logical=True), h5py.h5s.create(h5py.h5s.SCALAR)))
    return _STR_ATTR


def write_nix(record_or_block, path, **block_kwargs):
    """Write a SpikeRecord (converted with ``to_block(record, **block_kwargs)``) or a neo.Block to ``path``.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    DiskFullError, WriteError
        The file system is full (the previous file is intact) or not writable.
    """
    import neo

    from ..units import quantities_lookups_cached
    from .block import to_block

    require("nixio", "writing NIX files")

    plan = block = None
    if isinstance(record_or_block, SpikeRecord):
        from ._nix_h5 import Unsupported, plan_of_canonical
        from .canonical import canonical_block

        with quantities_lookups_cached(), _gc_paused():
            if not record_or_block.signals:  # straight from the record: the same file, no neo objects
                try:
                    plan = plan_of_canonical(canonical_block(record_or_block, **block_kwargs))
                except Unsupported:  # a value the fast writer does not store: the Block path decides
                    plan = None
            if plan is None:  # ~0.8x the time of to_block of the demo recording
                block = to_block(record_or_block, **block_kwargs)
    elif isinstance(record_or_block, neo.Block):
        block = record_or_block
    else:
        raise input_error("record_or_block", "a SpikeRecord or a neo.Block", type(record_or_block).__name__)

    def write(tmp):
        from . import _nix_h5

        try:
            with quantities_lookups_cached(), _gc_paused():  # unit strings parsed once: ~0.9x the time
                if plan is not None:
                    _nix_h5.write_plan(plan, tmp)
                else:
                    _nix_h5.write_block(block, tmp)
            return
        except _nix_h5.Unsupported:
            pass  # neo writes it (the partial file is overwritten)
        io = _fast_nixio_class()(tmp, mode="ow")
        try:
            io.write_block(block if block is not None else to_block(record_or_block, **block_kwargs))
        finally:
            io.close()

    # in a child process where it can fork: HDF5 cannot survive a full disk (see synsem_ephys._files)
    write_path_atomic(path, write, suffix=".nix")
    return existing_file(path, "NIX")


def read_nix(path, block_index=0):
    """Read block ``block_index`` of a NIX file as a neo.Block.

    Raises
    ------
    DataMissingError
        If ``path`` does not exist.
    DataFormatError
        If it is not a readable NIX file (wrong format, truncated) or has no such block.
    """
    require("nixio", "reading NIX files")
    path = existing_file(path, "NIX")
    plans = _read_fast(path)
    if plans is not None:
        return _neo_block(path, _pick(plans, block_index))
    return _read_neo(path, block_index)


def _read_fast(path):
    """The Blocks of ``path`` as the fast reader reads them (:class:`._nix_h5.ReadBlock`, checksum checked), or
    None for a file it does not read (neo's NixIO reads those)."""
    from . import _nix_h5

    try:
        return _nix_h5.read_plans(path)
    except _nix_h5.ChecksumMismatch as exc:
        raise input_error("path", "a NIX file whose data match the checksum stored in it",
                          f"{path} ({exc})", "The file is damaged: write it again from its source.",
                          cls=DataFormatError) from exc
    except _nix_h5.Unsupported:
        if _nix_h5.has_checksum(path):  # written by the fast writer, so its layout is known: damaged
            raise input_error("path", "a NIX file in the layout its checksum section vouches for",
                              f"{path}, whose structure was changed", "The file is damaged: write it again.",
                              cls=DataFormatError) from None
        return None  # neo reads it
    except Exception as exc:  # h5py raises OSError, KeyError, ValueError... for damaged files
        raise _unreadable(path, exc) from exc


def _unreadable(path, exc):
    return input_error("path", "a readable NIX file", f"{path} ({type(exc).__name__}: {exc})",
                       "Check the file is complete and really a .nix file.", cls=DataFormatError)


def _neo_block(path, plan):
    from . import _nix_h5

    try:
        block = _nix_h5.to_neo(plan)
    except Exception as exc:  # neo refuses what it reads (a spike after t_stop): a damaged file
        raise _unreadable(path, exc) from exc
    _restore_types(block)
    return block


def _read_neo(path, block_index):
    from neo.io import NixIO

    try:
        io = NixIO(str(path), mode="ro")
    except Exception as exc:  # nixio/h5py raise OSError, RuntimeError, KeyError... for non-NIX files
        raise input_error("path", "a NIX (HDF5) file", f"{path} ({type(exc).__name__}: {exc})",
                          "Check the file is complete and really a .nix file.", cls=DataFormatError) from exc
    try:
        blocks = io.read_all_blocks()
    except Exception as exc:
        raise input_error("path", "a readable NIX file", f"{path} ({type(exc).__name__}: {exc})",
                          cls=DataFormatError) from exc
    finally:
        io.close()
    block = _pick(blocks, block_index)
    _restore_types(block)
    return block


def _pick(blocks, block_index):
    if not 0 <= block_index < len(blocks):
        raise input_error("block_index", f"an index in [0, {len(blocks)})", block_index, cls=DataFormatError)
    return blocks[block_index]


def read_nix_record(path, block_index=0, *, timeout_s=None):
    """Read a NIX file written by :func:`write_nix` back into a SpikeRecord.

    The file is read in a forked child process where the platform allows it
    (:func:`synsem_ephys._files.call_isolated`; the record comes back as its flat arrays): HDF5 loops forever
    or crashes on some damaged files (one zeroed block of 255 bytes near the start of a file is enough), which
    is then a DataFormatError naming the file instead of a hung or crashed process.

    Parameters
    ----------
    timeout_s : float, optional
        How long the read may take before the file is taken as damaged; default 120 s plus 2 s per MB.

    Raises
    ------
    DataMissingError
        If ``path`` does not exist.
    DataFormatError
        If it is not a readable NIX file of this layout, or HDF5 crashed or did not finish reading it.
    """
    from .._files import read_isolated

    path = existing_file(path, "NIX")
    return read_isolated(_read_record, path, block_index, what="NIX", timeout_s=timeout_s)


def _read_record(path, block_index):
    from ..units import quantities_lookups_cached
    from .block import from_block

    with quantities_lookups_cached(), _gc_paused():  # ~1.4-3x faster from_block of thousands of SpikeTrains
        plans = _read_fast(path)
        if plans is None:
            return from_block(_read_neo(path, block_index))
        plan = _pick(plans, block_index)
        if _direct.is_canonical(plan):  # straight into the record, without neo objects
            try:
                return _direct.record_of(plan)
            except DataFormatError:
                raise
            except Exception as exc:  # what neo would refuse building the Block (ValueError, ...)
                raise _unreadable(path, exc) from exc
        return from_block(_neo_block(path, plan))


@contextlib.contextmanager
def _gc_paused():
    """No garbage collection inside (the previous state restored after). Reading and writing create ~10^5
    objects, which start full collections; in the forked child of write_path_atomic / call_isolated each one
    walks the whole inherited heap and so copies every page of it (copy on write): 2-3 s per write of the
    demo recording in a process that holds a network and a record. The readers and writers make no cycles
    that must be freed before they return."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _restore_types(block):
    """NIX stores list annotations as tuples/lists of Python scalars; give back what to_block wrote."""
    restore_list_annotations(block.annotations)
