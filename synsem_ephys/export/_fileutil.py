"""Atomic writes and checked opening of input files (shared by the NIX and NWB writers/readers)."""

import contextlib
import os
import tempfile
from pathlib import Path

from ..errors import DataMissingError, input_error

__all__ = ["atomic_path", "existing_file"]


@contextlib.contextmanager
def atomic_path(path, suffix):
    """Yield a temporary path in the directory of ``path``; on success ``os.replace`` it onto ``path``.

    On any error the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise input_error("path", "a file in an existing directory", str(path), cls=DataMissingError)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp" + suffix)
    os.close(fd)
    os.unlink(tmp)  # the writers create the file themselves
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def existing_file(path, what):
    """Return ``path`` as a Path, raising DataMissingError naming it if it is not an existing file."""
    path = Path(path)
    if not path.is_file():
        raise input_error("path", f"an existing {what} file", str(path), cls=DataMissingError)
    return path
