"""Atomic writes and the faults of writing: a full disk, permission denied, a read-only file system.

Atomic writes: the content is written to a temporary file ``.<name>.<8 random characters>.tmp[<suffix>]`` in
the target's directory, flushed and fsync'ed, then moved onto the target with ``os.replace`` (atomic on POSIX
and Windows); the directory is fsync'ed where the platform allows it so that the rename itself survives a
crash. On any error the temporary file is removed and the target is left as it was.
:func:`write_atomic` is for writers that take an open file object, :func:`write_path_atomic` and
:func:`atomic_path` for writers that create the file themselves (h5py, nixio, pynwb). Temporary files of
killed runs (the pattern above, older than :data:`STALE_TEMP_S` seconds) are removed at the next write of the
same target (:func:`remove_stale_temps`).

Faults: errors of the operating system become :class:`~synsem_ephys.errors.WriteError` naming the file
(permission denied, read-only file system, the target is a directory) and a full file system (ENOSPC,
EDQUOT, also when a library reports it only in its message, as HDF5 does, or loses it, as torch's zip writer
does) becomes :class:`~synsem_ephys.errors.DiskFullError` naming the file and the free space; with a
``size_hint`` the free space is checked before anything is written.

HDF5 cannot survive a full disk (measured with h5py 3.16 / HDF5 2.0, and h5py issue #914): after one failed
write its metadata cache is corrupt ("slist already enabled?"), every later flush fails, objects print
tracebacks as they are freed and the process segfaults at exit, even when the file is closed explicitly or
space is freed. :func:`write_path_atomic` therefore runs such a writer in a forked child process
(:mod:`.isolated`, Linux, ``isolate=None``): the parent's HDF5 never sees the failure, the child's error comes
back as an exception and the child ends with ``os._exit`` before HDF5's exit handler can crash.
:func:`atomic_path` (the writer runs in the caller's process) reports a full disk as clearly but cannot
protect the process from HDF5.
"""

import contextlib
import errno as _errno
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from ..errors import DataMissingError, DiskFullError, WriteError, input_error
from .isolated import _FORK_OK, ChildProcessDied, _chain, _one_line, call_isolated

__all__ = ["write_atomic", "write_text_atomic", "write_path_atomic", "atomic_path", "remove_stale_temps",
           "free_bytes", "disk_full_error", "STALE_TEMP_S"]

#: Temporary files of a target older than this (seconds) are taken as left by a killed run and removed.
STALE_TEMP_S = 60.0
#: Below this many free bytes a failed write is taken as a full disk even without an errno saying so.
_FULL_MARGIN = 64 * 1024
_FULL_ERRNOS = {_errno.ENOSPC, getattr(_errno, "EDQUOT", _errno.ENOSPC)}
_FULL_TEXT = ("no space left on device", "errno = 28", "disk quota exceeded", "errno = 122")


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


# ---------------------------------------------------------------------------------------------- faults
def _human(n):
    """``n`` bytes as a short human-readable size (``"512 B"``, ``"3.2 MiB"``)."""
    if n is None:
        return "an unknown amount"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def free_bytes(directory):
    """Bytes free for an ordinary user on the file system of ``directory`` (None if it cannot be asked)."""
    try:
        return shutil.disk_usage(directory).free
    except OSError:
        return None


def _says_disk_full(exc):
    if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
        return True
    text = str(exc).lower()
    return any(t in text for t in _FULL_TEXT)


def _disk_full(path, cause=None, *, written=None, needed=None):
    """The DiskFullError of ``path``: the file, the free space, what was needed or written, the cause."""
    path = Path(path)
    where = path if path.is_dir() else path.parent  # a directory: a writer that did not say which file
    try:
        usage = shutil.disk_usage(where)
        space = f"{_human(usage.free)} free of {_human(usage.total)} in {where}"
    except OSError:
        space = f"the free space of {where} unknown"
    got = f"a full file system ({space}"
    if needed is not None:
        got += f"; the file needs about {_human(needed)}"
    if written:
        got += f"; the partial file had reached {_human(written)}"
    got += ")" + (f" [{_one_line(cause)}]" if cause is not None else "")
    before = ("The files written before stay in it" if path.is_dir() else
              "The previous file is unchanged" if path.exists() else "Nothing was written")
    exc = input_error(str(path), "enough free disk space to write it", got,
                      f"Free some space or write elsewhere. {before}; no temporary file is left.", cls=DiskFullError)
    exc.errno = _errno.ENOSPC
    exc.path = str(path)
    return exc


_OS_FAULTS = {  # errno -> (expected, got): the faults of the operating system that name what to change
    _errno.EACCES: ("a location you may write to", "permission denied"),
    _errno.EPERM: ("a location you may write to", "operation not permitted"),
    _errno.EROFS: ("a writable file system", "a read-only file system"),
    _errno.EISDIR: ("a file path", "a directory"),
    _errno.ENOTDIR: ("a path whose parent is a directory", "a path through a file"),
}


def _write_error(exc, path, *, written=None, recorded=(), nearly_full=False):
    """The WriteError / DiskFullError that ``exc`` (raised while writing ``path``) means, or None.

    ``recorded``: OSErrors the file object saw (a writer may replace them with its own error);
    ``nearly_full``: the file system had less than a few dozen KiB free when the write failed.
    """
    if isinstance(exc, WriteError):
        return None
    chain = _chain(exc) + list(recorded)
    cause = next((e for e in chain if _says_disk_full(e)), None)
    if cause is not None:
        return _disk_full(path, cause, written=written)
    died = isinstance(exc, ChildProcessDied)
    vague = died or isinstance(exc, RuntimeError) or (isinstance(exc, OSError) and exc.errno is None)
    if nearly_full and vague:
        return _disk_full(path, exc, written=written)
    for e in chain:
        if isinstance(e, OSError) and e.errno in _OS_FAULTS:
            expected, got = _OS_FAULTS[e.errno]
            err = input_error(str(path), expected, f"{got} ({_one_line(e)})",
                              "Choose another output location, or change its permissions.", cls=WriteError)
            err.errno, err.path = e.errno, str(path)
            return err
    if died:
        err = input_error(str(path), "a writer that finishes", f"its process ended by {exc}",
                          "Rerun; if it happens again, report it with the command that wrote the file.",
                          cls=WriteError)
        err.path = str(path)
        return err
    return None


def disk_full_error(exc, path):
    """The DiskFullError (naming ``path`` and the free space) that ``exc`` means, or None if it is not a full disk.

    For writers outside this module (matplotlib's ``savefig``, ...) whose ENOSPC reaches the caller raw;
    ``path`` may be the output directory when the error does not say which file.
    """
    if isinstance(exc, DiskFullError):
        return exc
    cause = next((e for e in _chain(exc) if _says_disk_full(e)), None)
    return None if cause is None else _disk_full(path, cause)


def _check_target(path):
    if not path.parent.is_dir():
        raise input_error("path", "a file in an existing directory", str(path), cls=DataMissingError)
    if path.is_dir():
        err = input_error("path", "a file path", f"{path}, which is a directory",
                          "Name a file inside it instead.", cls=WriteError)
        err.errno, err.path = _errno.EISDIR, str(path)
        raise err


def _check_free(path, size_hint):
    if size_hint is None:
        return
    free = free_bytes(path.parent)
    if free is not None and free < int(size_hint) + 4096:  # a file system block of slack
        raise _disk_full(path, needed=int(size_hint))


def _prepare(path, size_hint):
    path = Path(path)
    try:
        _check_target(path)
    except OSError as exc:  # the directory cannot even be looked at (permission denied on a parent)
        err = None if isinstance(exc, WriteError | DataMissingError) else _write_error(exc, path)
        if err is not None:
            raise err from exc
        raise
    remove_stale_temps(path)
    _check_free(path, size_hint)
    return path


def _mkstemp(path, suffix):
    try:
        return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp" + suffix)
    except OSError as exc:
        err = _write_error(exc, path)
        if err is not None:
            raise err from exc
        raise


def _discard(tmp):
    """Remove the temporary file ``tmp`` if it exists; return its size (None if there was none)."""
    try:
        size = os.path.getsize(tmp)
    except OSError:
        return None
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    except OSError:
        pass  # cannot remove it (read-only now?): the error being raised is the one to report
    return size


def _fail(exc, path, tmp, recorded=()):
    """Remove ``tmp`` and return the exception to raise instead of ``exc`` (None: re-raise ``exc``)."""
    free = free_bytes(path.parent)
    written = _discard(tmp)
    return _write_error(exc, path, written=written, recorded=recorded,
                        nearly_full=free is not None and free < _FULL_MARGIN)


def _commit(tmp, path):
    _fsync_file(tmp)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file an ordinary file's mode
    os.replace(tmp, path)


class _Recorder:
    """A file object that remembers the OSErrors of its writes (torch's zip writer replaces them with its own)."""

    def __init__(self, fh):
        self._fh = fh
        self.errors = []

    def write(self, data):
        try:
            return self._fh.write(data)
        except OSError as exc:
            self.errors.append(exc)
            raise

    def __getattr__(self, name):
        return getattr(self._fh, name)


def remove_stale_temps(path, older_than_s=STALE_TEMP_S):
    """Remove the temporary files of ``path`` that killed writes left behind; return their paths.

    Only files named exactly like this module's temporary files of ``path``
    (``.<name>.<8 characters>.tmp`` with an optional suffix such as ``.nix``) and last modified more than
    ``older_than_s`` seconds ago are removed: a concurrent write of the same target keeps its file.
    """
    path = Path(path)
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}\.tmp(?:\.[A-Za-z0-9_]+)?")
    removed, now = [], time.time()
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and now - entry.stat(follow_symlinks=False).st_mtime > older_than_s:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            pass  # gone meanwhile or not ours to remove: the write itself goes on
    return removed


def write_atomic(path, write, *, mode="wb", size_hint=None):
    """Write ``path`` atomically by calling ``write(fileobj)`` on a temporary file beside it.

    Parameters
    ----------
    path : str or path-like
        Target file; its directory must exist.
    write : callable
        Receives the open temporary file object and writes the whole content.
    mode : str
        File mode of the temporary file (``"wb"`` or ``"w"``).
    size_hint : int, optional
        Expected size in bytes: refuse with DiskFullError before writing when the file system has less free.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    DataMissingError
        The directory does not exist.
    DiskFullError
        The file system is full; the previous file is intact, no temporary file is left.
    WriteError
        Permission denied, read-only file system, or ``path`` is a directory.
    """
    path = _prepare(path, size_hint)
    fd, tmp = _mkstemp(path, "")
    rec = None
    try:
        with os.fdopen(fd, mode) as fh:
            rec = _Recorder(fh)
            write(rec)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file an ordinary file's mode
        os.replace(tmp, path)
    except BaseException as exc:
        err = _fail(exc, path, tmp, rec.errors if rec is not None else ())
        if err is not None:
            raise err from exc
        raise
    _fsync_dir(path.parent)
    return path


def write_text_atomic(path, text):
    """Write the string ``text`` to ``path`` atomically (UTF-8); its size is checked against the free space first."""
    data = text.encode("utf-8")
    return write_atomic(path, lambda fh: fh.write(data), size_hint=len(data))


def _temp_path(path, suffix):
    fd, tmp = _mkstemp(path, suffix)
    os.close(fd)
    os.unlink(tmp)  # the writers create the file themselves
    return tmp


@contextlib.contextmanager
def atomic_path(path, suffix="", *, size_hint=None):
    """Yield a temporary path beside ``path`` for a writer (in this process) that creates the file itself.

    On success the file is fsync'ed and moved onto ``path`` with ``os.replace``; on any error the
    temporary file is removed and ``path`` is left untouched. Errors are those of :func:`write_atomic`.
    An HDF5 writer should use :func:`write_path_atomic` instead: HDF5 crashes its process after a full disk.
    """
    path = _prepare(path, size_hint)
    tmp = _temp_path(path, suffix)
    try:
        yield tmp
        _commit(tmp, path)
    except BaseException as exc:
        err = _fail(exc, path, tmp)
        if err is not None:
            raise err from exc
        raise
    finally:
        _discard(tmp)
    _fsync_dir(path.parent)


def write_path_atomic(path, write, *, suffix="", isolate=None, size_hint=None):
    """Write ``path`` atomically by calling ``write(tmp_path)``, a writer that creates the file itself.

    Parameters
    ----------
    path : str or path-like
        Target file; its directory must exist.
    write : callable
        Receives the temporary path (beside ``path``, ending in ``suffix``) and creates the whole file there.
    suffix : str
        Suffix of the temporary file (``".nix"``), for writers that look at it.
    isolate : bool, optional
        Run ``write`` in a forked child process, so that a library that cannot survive a failed write
        (HDF5 on a full disk, see the module docstring) cannot crash this one. Default: where ``os.fork``
        is safe and cheap (Linux). The child sees a copy of this process: ``write`` must not change state
        that the caller needs afterwards. Its exception is raised here (with the child's traceback as a
        note where Python supports notes).
    size_hint : int, optional
        Expected size in bytes: refuse with DiskFullError before writing when the file system has less free.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    DataMissingError, DiskFullError, WriteError
        As :func:`write_atomic`; any other error of ``write`` as raised by it.
    """
    path = _prepare(path, size_hint)
    tmp = _temp_path(path, suffix)
    try:
        if _FORK_OK if isolate is None else isolate:
            _run_in_child(write, tmp)
        else:
            write(tmp)
        _commit(tmp, path)
    except BaseException as exc:
        err = _fail(exc, path, tmp)
        if err is not None:
            raise err from exc
        raise
    _fsync_dir(path.parent)
    return path


def _run_in_child(write, tmp):
    """``write(tmp)`` and its fsync in a child (:func:`call_isolated`); a writer that went on past ignored
    disk-full errors (h5py ignores the errors of objects it frees) is not trusted."""
    def run(tmp):
        ignored = sys.unraisablehook.ignored if hasattr(sys.unraisablehook, "ignored") else []
        write(tmp)
        _fsync_file(tmp)
        bad = next((t for t in ignored if any(s in t.lower() for s in _FULL_TEXT)), None)
        if bad is not None:
            raise OSError(_errno.ENOSPC, f"the writer went on after {len(ignored)} ignored errors, first {bad}")

    call_isolated(run, tmp, isolate=True)


