"""Atomic file writes: nothing is lost when a process dies while saving.

The content is written to a temporary file in the target's directory, flushed and fsync'ed, then
moved onto the target with ``os.replace`` (atomic on POSIX and Windows); the directory is fsync'ed
where the platform allows it so that the rename itself survives a crash. On any error the temporary
file is removed and the target is left as it was.
"""

import os
import tempfile
from pathlib import Path

__all__ = ["write_atomic"]


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path, write, *, mode="wb"):
    """Write ``path`` atomically by calling ``write(fileobj)`` on a temporary file beside it.

    Parameters
    ----------
    path : str or path-like
        Target file; its directory must exist.
    write : callable
        Receives the open temporary file object and writes the whole content.
    mode : str
        File mode of the temporary file (``"wb"`` or ``"w"``).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file an ordinary file's mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return path
    try:
        os.fsync(dfd)
    except OSError:
        pass  # directories cannot be fsync'ed on some platforms; the rename is still atomic
    finally:
        os.close(dfd)
    return path
