"""Files: atomic writes, checked opening, the one JSON encoder and the one data root.

Atomic writes: the content is written to a temporary file in the target's directory, flushed and
fsync'ed, then moved onto the target with ``os.replace`` (atomic on POSIX and Windows); the directory is
fsync'ed where the platform allows it so that the rename itself survives a crash. On any error the
temporary file is removed and the target is left as it was. :func:`write_atomic` is for writers that
take an open file object, :func:`atomic_path` for writers that create the file themselves (h5py,
nixio, pynwb).

JSON: :func:`to_jsonable` turns numpy scalars and arrays, tuples, sets and paths into JSON types
(optionally non-finite floats into ``null``); :func:`json_dumps` is ``json.dumps`` with it.

Data root: :func:`data_root` is where real data (``mnist/``, ``ephys/``, ``fastanddeep/``) is looked
for: ``$SYNSEM_DATA``, else ``<repository>/../shared/data`` (a checkout's neighbour).
"""

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import DataMissingError, input_error

__all__ = ["write_atomic", "write_text_atomic", "atomic_path", "existing_file", "to_jsonable", "json_dumps",
           "DATA_ENV", "data_root"]

#: Environment variable naming the directory with the real data (``mnist/``, ``ephys/`` ...).
DATA_ENV = "SYNSEM_DATA"


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(directory):
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass  # directories cannot be fsync'ed on some platforms; the rename is still atomic
    finally:
        os.close(dfd)


def _fsync_file(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_dir(path):
    if not path.parent.is_dir():
        raise input_error("path", "a file in an existing directory", str(path), cls=DataMissingError)


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
    _check_dir(path)
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
    _fsync_dir(path.parent)
    return path


def write_text_atomic(path, text):
    """Write the string ``text`` to ``path`` atomically (UTF-8)."""
    return write_atomic(path, lambda fh: fh.write(text.encode("utf-8")))


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yield a temporary path beside ``path`` for a writer that creates the file itself.

    On success the file is fsync'ed and moved onto ``path`` with ``os.replace``; on any error the
    temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    _check_dir(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp" + suffix)
    os.close(fd)
    os.unlink(tmp)  # the writers create the file themselves
    try:
        yield tmp
        _fsync_file(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    _fsync_dir(path.parent)


def existing_file(path, what):
    """Return ``path`` as a Path, raising DataMissingError naming it if it is not an existing file."""
    path = Path(path)
    if not path.is_file():
        raise input_error("path", f"an existing {what} file", str(path), cls=DataMissingError)
    return path


def to_jsonable(obj, *, nonfinite_to_none=False):
    """``obj`` with numpy scalars/arrays, tuples, sets and paths replaced by JSON types, recursively.

    With ``nonfinite_to_none``, NaN and infinities become ``None`` (JSON ``null``); otherwise they stay
    floats (``json.dumps`` writes them as ``NaN`` / ``Infinity``). Anything else that JSON cannot hold
    raises TypeError naming its type.
    """
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v, nonfinite_to_none=nonfinite_to_none) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [to_jsonable(v, nonfinite_to_none=nonfinite_to_none) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist(), nonfinite_to_none=nonfinite_to_none)
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return None if nonfinite_to_none and not math.isfinite(x) else x
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, (int, str)):
        return obj
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def json_dumps(obj, *, nonfinite_to_none=False, **kwargs):
    """``json.dumps(to_jsonable(obj), **kwargs)``."""
    return json.dumps(to_jsonable(obj, nonfinite_to_none=nonfinite_to_none), **kwargs)


def data_root(*parts, must_exist=False, use_env=True):
    """The data directory (``$SYNSEM_DATA``, default ``<repository>/../shared/data``) joined with ``parts``.

    With ``use_env=False`` the repository default alone (for callers that try the variable themselves).

    Raises
    ------
    DataMissingError
        If ``must_exist`` and the path does not exist; the message names the path and the variable.
    """
    env = os.environ.get(DATA_ENV) if use_env else None
    root = Path(env).expanduser() if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    path = root.joinpath(*parts)
    if must_exist and not path.exists():
        raise DataMissingError(
            f"data: expected {path} to exist; got no such path. Set the environment variable {DATA_ENV} "
            f"to the directory holding the data (now {'set to ' + env if env else 'unset'})."
        )
    return path
