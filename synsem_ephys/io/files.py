"""Read a recording file by what it holds: NIX (the canonical layout of this package) or any NWB file.

:func:`recording_kind` looks at the content, not only the name: an HDF5 file (its signature at offset 0 or
at a user block of 512 * 2**k bytes) is NWB when its root carries ``nwb_version`` and NIX when its root
attribute ``format`` is ``"nix"``; a file whose first 64 KiB decode as UTF-8 text, with every line that is not
blank or a ``#`` comment made of one or two fields of which the first is a number, is a spike-time text file
(read by :func:`synsem_ephys.adapters.spiketimes_text.load_spiketimes`, which needs the time unit the file
does not state). The suffix decides only where the content is not readable (an empty file, a directory).
The answer is remembered per file and state (device, inode, size, modification time), so the several readers
that ask about one file (the CLI, :func:`read_recording`, the report) look at its content once.
"""

import os
from functools import lru_cache
from pathlib import Path

from .._files import existing_file
from ..errors import DataFormatError, input_error

__all__ = ["RECORDING_SUFFIXES", "TEXT_SUFFIXES", "recording_kind", "text_fields", "read_recording"]

#: Suffixes of the formats :func:`read_recording` reads, and the reader of each.
RECORDING_SUFFIXES = {".nix": "NIX", ".h5": "NIX", ".nwb": "NWB"}
#: Suffixes taken as spike-time text where the content cannot tell (an empty file).
TEXT_SUFFIXES = (".txt", ".csv", ".tsv", ".dat", ".spk", ".times")

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_TEXT_PROBE = 65536


def _hdf5_offset(path):
    with open(path, "rb") as fh:
        for offset in (0, 512, 1024, 2048, 4096, 8192):
            fh.seek(offset)
            if fh.read(8) == _HDF5_SIGNATURE:
                return offset
    return None


def _hdf5_kind(path):
    import h5py

    with h5py.File(path, "r") as f:
        attrs = f.attrs
        if "nwb_version" in attrs or attrs.get("namespace") == "core":
            return "NWB"
        fmt = attrs.get("format")
        if isinstance(fmt, bytes):
            fmt = fmt.decode("utf-8", "replace")
        return "NIX" if fmt == "nix" else "HDF5"


def _spike_text_fields(head):
    """0 if ``head`` (the start of a file) is not spike-time text, else the most fields on a line (1 or 2)."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a character cut by the probe's end is fine, anything else is not text
        if len(head) < _TEXT_PROBE or exc.start < len(head) - 4:
            return 0
        text = head[: exc.start].decode("utf-8")
    lines = text.splitlines()
    if len(head) == _TEXT_PROBE and lines:
        lines = lines[:-1]  # the last line may be cut by the probe
    most = 0
    for line in lines:
        fields = line.split("#", 1)[0].replace(",", " ").replace(";", " ").split()
        if not fields:
            continue
        if len(fields) > 2:
            return 0
        try:
            float(fields[0])
        except ValueError:
            return 0
        most = max(most, len(fields))
    return most


def text_fields(path):
    """Fields per line of a spike-time text file (1: one time per line, 2: time and unit), 0 if it is not one."""
    with open(path, "rb") as fh:
        return _spike_text_fields(fh.read(_TEXT_PROBE))


def recording_kind(path):
    """What ``path`` holds: ``"NIX"``, ``"NWB"``, ``"text"`` (spike times), ``"directory"`` or None (unknown).

    Raises
    ------
    DataMissingError
        If ``path`` does not exist.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        return "directory"
    p = existing_file(p, "recording")
    st = p.stat()
    try:
        return _content_kind(str(p.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    except _Unreadable:  # not cached: the next call looks again
        return RECORDING_SUFFIXES.get(p.suffix.lower(), "HDF5")


class _Unreadable(Exception):
    """An HDF5 file whose root could not be read (a damaged file, a child that died)."""


@lru_cache(maxsize=256)
def _content_kind(path, dev, ino, size, mtime_ns):
    """:func:`recording_kind` of an existing file, cached on its state (the arguments after ``path``)."""
    p = Path(path)
    if _hdf5_offset(p) is not None:
        from .._files import ChildProcessDied, call_isolated

        try:  # HDF5 can hang on a damaged file: ask in a child with a timeout
            return call_isolated(_hdf5_kind, p, timeout_s=60.0)
        except (ChildProcessDied, OSError) as exc:
            raise _Unreadable(str(p)) from exc
    if os.path.getsize(p) == 0:
        return "text" if p.suffix.lower() in TEXT_SUFFIXES else None
    return "text" if text_fields(p) else None


def read_recording(path, **nwb_options):
    """A :class:`~synsem_ephys.record.SpikeRecord` from a NIX file of this package or any NWB file.

    The format comes from the content (:func:`recording_kind`), so an NWB file named ``.h5`` is read as NWB.

    Parameters
    ----------
    path : str or Path
    **nwb_options
        Passed to :func:`synsem_ephys.io.nwb.read_nwb` for NWB files (``label_column``, ...).

    Raises
    ------
    DataMissingError
        If ``path`` does not exist.
    DataFormatError
        For a file that is neither NIX nor NWB (a spike-time text file gets the call that reads it).
    """
    kind = recording_kind(path)
    path = Path(path).expanduser()
    if kind == "NIX":
        from .nix import read_nix_record

        if nwb_options:
            raise input_error("options", "no options for a NIX file", sorted(nwb_options))
        return read_nix_record(path)
    if kind == "NWB":
        from .nwb import read_nwb

        return read_nwb(path, **nwb_options)
    if kind in ("text", "directory"):
        raise input_error("path", "a NIX or NWB file", f"{path}, which holds spike-time text" if kind == "text"
                          else f"{path}, a directory",
                          "Read spike-time text files with synsem_ephys.adapters.spiketimes_text.load_spiketimes("
                          "path, time_unit=...) (the file does not say its time unit), or synsem_ephys.adapters."
                          "read_any(path, time_unit=...); on the command line: synsem-ephys analyze FILE --time-unit ms.",
                          cls=DataFormatError)
    what = "an HDF5 file that is neither NIX nor NWB" if kind == "HDF5" else "a file of no format read here"
    raise input_error("path", "a recording: a NIX or NWB (HDF5) file, or a spike-time text file", f"{path}, {what}",
                      "Convert other formats with a loader of synsem_ephys.adapters first (adapters.LOADERS).",
                      cls=DataFormatError)
