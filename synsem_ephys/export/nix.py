"""NIX files (nixio, through ``neo.io.NixIO``): every annotation and array annotation is kept.

Writes are atomic: the file is written next to its destination and moved into place with ``os.replace``.
"""

import numpy as np

from ..errors import DataFormatError, input_error
from ..record import SpikeRecord
from ._fileutil import atomic_path, existing_file

__all__ = ["write_nix", "read_nix", "read_nix_record"]


def write_nix(record_or_block, path, **block_kwargs):
    """Write a SpikeRecord (converted with ``to_block(record, **block_kwargs)``) or a neo.Block to ``path``.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    import neo
    from neo.io import NixIO

    from .block import to_block

    if isinstance(record_or_block, SpikeRecord):
        block = to_block(record_or_block, **block_kwargs)
    elif isinstance(record_or_block, neo.Block):
        block = record_or_block
    else:
        raise input_error("record_or_block", "a SpikeRecord or a neo.Block", type(record_or_block).__name__)
    with atomic_path(path, ".nix") as tmp:
        io = NixIO(tmp, mode="ow")
        try:
            io.write_block(block)
        finally:
            io.close()
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
    from neo.io import NixIO

    path = existing_file(path, "NIX")
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
    if not 0 <= block_index < len(blocks):
        raise input_error("block_index", f"an index in [0, {len(blocks)})", block_index, cls=DataFormatError)
    block = blocks[block_index]
    _restore_types(block)
    return block


def read_nix_record(path, block_index=0):
    """Read a NIX file written by :func:`write_nix` back into a SpikeRecord."""
    from .block import from_block

    return from_block(read_nix(path, block_index))


def _restore_types(block):
    """NIX stores list annotations as tuples/lists of Python scalars; give back what to_block wrote."""
    for key in ("label_names", "trial_columns", "unit_columns", "event_names"):
        if key in block.annotations:
            val = block.annotations[key]
            block.annotations[key] = [] if isinstance(val, str) and not val else list(np.atleast_1d(val).tolist())
