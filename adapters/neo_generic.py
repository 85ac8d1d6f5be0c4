"""Any file that ``neo.io`` reads into a SpikeRecord, through :func:`synsem_ephys.io.from_block`.

The source convention this adapter adds is only the choice of the reader: ``io_class`` or the class
neo picks from the file's extension; block ``block_index`` of the file. How a Block becomes a record
(the canonical layout exactly, any other as one Segment per trial) is :func:`synsem_ephys.io.from_block`.
"""

from synsem_ephys.errors import DataFormatError, input_error
from synsem_ephys.io.block import from_block

from ._common import require_path

__all__ = ["load_neo"]


def load_neo(path, *, block_index=0, io_class=None, label_annotation=None):
    """Read ``path`` with neo.io (``io_class`` or the class neo picks from the extension) into a SpikeRecord.

    Parameters
    ----------
    path : str or Path
    block_index : int
        Which Block of the file.
    io_class : type, optional
        A ``neo.io`` class; default ``neo.io.get_io`` by extension.
    label_annotation : str, optional
        Segment annotation giving the class label (one Segment per trial), see
        :func:`synsem_ephys.io.from_block`.
    """
    import neo

    path = require_path(path, "neo-readable")
    try:
        io = io_class(str(path)) if io_class is not None else neo.io.get_io(str(path))
    except Exception as exc:
        raise input_error("path", "a file format neo.io can read", f"{path} ({type(exc).__name__}: {exc})",
                          "Pass io_class=neo.io.<SomeIO>.", cls=DataFormatError) from exc
    try:
        blocks = io.read_all_blocks() if hasattr(io, "read_all_blocks") else [io.read_block()]
    except Exception as exc:
        raise input_error("path", f"a file {type(io).__name__} can read", f"{path} ({type(exc).__name__}: {exc})",
                          cls=DataFormatError) from exc
    finally:
        if hasattr(io, "close"):
            io.close()
    if not 0 <= block_index < len(blocks):
        raise input_error("block_index", f"an index in [0, {len(blocks)})", block_index, cls=DataFormatError)
    return from_block(blocks[block_index], label_annotation=label_annotation)
