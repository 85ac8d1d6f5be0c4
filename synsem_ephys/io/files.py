"""Read a recording file by its suffix: ``.nix`` / ``.h5`` (NIX, canonical layout) or ``.nwb`` (any NWB)."""

from pathlib import Path

from ..errors import DataFormatError, input_error

__all__ = ["RECORDING_SUFFIXES", "read_recording"]

#: Suffixes :func:`read_recording` knows, and the reader of each.
RECORDING_SUFFIXES = {".nix": "NIX", ".h5": "NIX", ".nwb": "NWB"}


def read_recording(path, **nwb_options):
    """A :class:`~synsem_ephys.record.SpikeRecord` from a NIX file of this package or any NWB file.

    Parameters
    ----------
    path : str or Path
    **nwb_options
        Passed to :func:`synsem_ephys.io.nwb.read_nwb` for ``.nwb`` files (``label_column``, ...).

    Raises
    ------
    DataFormatError
        For a suffix that is not one of :data:`RECORDING_SUFFIXES`.
    """
    path = Path(path)
    kind = RECORDING_SUFFIXES.get(path.suffix.lower())
    if kind == "NIX":
        from .nix import read_nix_record

        if nwb_options:
            raise input_error("options", "no options for a NIX file", sorted(nwb_options))
        return read_nix_record(path)
    if kind == "NWB":
        from .nwb import read_nwb

        return read_nwb(path, **nwb_options)
    raise input_error("path", f"a recording file with suffix {', '.join(RECORDING_SUFFIXES)}", str(path),
                      "Convert other formats with a loader of synsem_ephys.adapters first.", cls=DataFormatError)
