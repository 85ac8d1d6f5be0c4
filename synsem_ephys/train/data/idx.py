"""IDX files (LeCun's format of MNIST), gzip-compressed or plain.

IDX layout (big-endian)::

    bytes 0-1   0x00 0x00
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    4 * d bytes the sizes of the dimensions (uint32)
    then        prod(sizes) elements, row-major
"""

import gzip
import hashlib
import struct
import zlib
from pathlib import Path

import numpy as np

from ...errors import DataFormatError, DataMissingError

__all__ = ["read_idx", "idx_md5", "idx_bytes"]

_IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _open_bytes(path):
    """Return the full (decompressed) contents of ``path``; gzip is detected by its magic bytes."""
    path = Path(path)
    if not path.is_file():
        raise DataMissingError(f"path: expected an existing IDX file; got {str(path)!r}, which does not exist.")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataFormatError(
                f"{path}: expected a valid gzip stream; got a truncated or corrupt one ({exc}). "
                "Download the file again (see synsem_ephys.train.data.download_mnist)."
            ) from exc
    return raw


def read_idx(path):
    """Read one IDX file (gzip-compressed or plain) into a numpy array.

    Parameters
    ----------
    path : str or path-like
        The file; gzip is recognised by its magic bytes, not by the name.

    Returns
    -------
    numpy.ndarray
        Array of the element type and dimensions given in the header (native byte order).

    Raises
    ------
    DataMissingError
        If the file does not exist.
    DataFormatError
        If the magic number, element type or length does not match the IDX format.
    """
    data = _open_bytes(path)
    if len(data) < 4:
        raise DataFormatError(f"{path}: expected an IDX header of at least 4 bytes; got {len(data)} bytes.")
    zero, code, ndim = data[0:2], data[2], data[3]
    if zero != b"\x00\x00" or code not in _IDX_DTYPES or ndim == 0:
        raise DataFormatError(
            f"{path}: expected an IDX magic number 0x0000TTDD (TT an element type in "
            f"{sorted(hex(c) for c in _IDX_DTYPES)}, DD >= 1 dimensions); got 0x{data[:4].hex()}. "
            "The file is not an IDX file (or is compressed with something other than gzip)."
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataFormatError(f"{path}: expected a {header}-byte header for {ndim} dimensions; got {len(data)} bytes.")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    got = len(data) - header
    if got != expected:
        what = "truncated" if got < expected else "has trailing bytes"
        raise DataFormatError(
            f"{path}: expected {expected} data bytes for dimensions {dims}; got {got} (the file {what}). "
            "Download the file again."
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def idx_md5(path, chunk_bytes=1 << 20):
    """MD5 hex digest of the *uncompressed* contents of ``path`` (gzip or plain)."""
    path = Path(path)
    if not path.is_file():
        raise DataMissingError(f"path: expected an existing file; got {str(path)!r}, which does not exist.")
    h = hashlib.md5()
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    opener = gzip.open if gz else open
    try:
        with opener(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(chunk_bytes), b""):
                h.update(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFormatError(f"{path}: expected a valid gzip stream; got a truncated or corrupt one ({exc}).") from exc
    return h.hexdigest()


def _check_md5(path, want, fix):
    """Raise DataFormatError (ending in ``fix``) unless the uncompressed contents of ``path`` have MD5 ``want``."""
    got = idx_md5(path)
    if got != want:
        raise DataFormatError(f"{path}: expected MD5 {want} of the uncompressed contents; got {got}. {fix}")
    return got


def idx_bytes(arr, code):
    """IDX encoding (header + big-endian row-major data) of ``arr`` with element type ``code``."""
    arr = np.ascontiguousarray(arr, dtype=_IDX_DTYPES[code])
    return bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()
