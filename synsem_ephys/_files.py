"""Files: atomic writes, checked opening, the one JSON encoder, content checksums and the one data root.

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
space is freed. :func:`write_path_atomic` therefore runs such a writer in a forked child process (Linux,
``isolate=None``): the parent's HDF5 never sees the failure, the child's error comes back as an exception
and the child ends with ``os._exit`` before HDF5's exit handler can crash. :func:`atomic_path` (the writer
runs in the caller's process) reports a full disk as clearly but cannot protect the process from HDF5.
:func:`call_isolated` is the same child process for any call (a reader of damaged HDF5 files, which can
loop forever or crash), with a timeout.

Checksums: :func:`payload_sha256` is the SHA-256 of a nested payload (dicts, lists, strings, numbers, numpy
arrays, torch tensors' bytes with their dtypes and shapes) independent of dict order, stored in the network
and checkpoint files and checked when they are loaded.

JSON: :func:`to_jsonable` turns numpy scalars and arrays, tuples, sets and paths into JSON types
(optionally non-finite floats into ``null``); :func:`json_dumps` is ``json.dumps`` with it.

Data root and environment: :func:`data_root` is where real data (``mnist/``, ``ephys/``, ``fastanddeep/``) is
looked for: ``$SYNSEM_DATA``, else ``<repository>/../shared/data`` (a checkout's neighbour).
:func:`environment_problems` lists mistyped ``SYNSEM_*`` variables and known ones that name no directory.
"""

import contextlib
import difflib
import errno as _errno
import hashlib
import json
import math
import os
import pickle
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

from .errors import DataMissingError, DiskFullError, WriteError, input_error

__all__ = ["write_atomic", "write_text_atomic", "write_path_atomic", "atomic_path", "remove_stale_temps",
           "free_bytes", "disk_full_error", "call_isolated", "ChildProcessDied", "existing_file", "payload_sha256", "to_jsonable", "json_dumps", "DATA_ENV", "MNIST_ENV",
           "KNOWN_ENV", "STALE_TEMP_S", "data_root", "environment_problems"]

#: Environment variable naming the directory with the real data (``mnist/``, ``ephys/`` ...).
DATA_ENV = "SYNSEM_DATA"
#: Environment variable naming the directory with the MNIST IDX files.
MNIST_ENV = "SYNSEM_MNIST_DIR"
#: Every environment variable synsem_ephys and its tutorials read: name -> (what it holds, must it be a directory).
KNOWN_ENV = {
    DATA_ENV: ("the directory with the real data (mnist/, ephys/, fastanddeep/)", True),
    MNIST_ENV: ("the directory with the MNIST IDX files", True),
    "SYNSEM_TUTORIAL_FAST": ("1 to run the tutorials in their fast mode", False),
    "SYNSEM_TUTORIAL_OUT": ("the tutorials' output directory", False),
}
#: Temporary files of a target older than this (seconds) are taken as left by a killed run and removed.
STALE_TEMP_S = 60.0
#: Below this many free bytes a failed write is taken as a full disk even without an errno saying so.
_FULL_MARGIN = 64 * 1024
_FULL_ERRNOS = {_errno.ENOSPC, getattr(_errno, "EDQUOT", _errno.ENOSPC)}
_FULL_TEXT = ("no space left on device", "errno = 28", "disk quota exceeded", "errno = 122")
#: Writers of write_path_atomic run in a forked child by default where fork is safe and cheap.
_FORK_OK = hasattr(os, "fork") and sys.platform.startswith("linux")


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


def _one_line(exc):
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}{'...' if len(text) > 300 else ''}"


def free_bytes(directory):
    """Bytes free for an ordinary user on the file system of ``directory`` (None if it cannot be asked)."""
    try:
        return shutil.disk_usage(directory).free
    except OSError:
        return None


def _chain(exc):
    """``exc`` and the exceptions it was raised from or during, without repeats."""
    seen = []
    while exc is not None and all(exc is not s for s in seen) and len(seen) < 20:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


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


class ChildProcessDied(RuntimeError):
    """The child process of :func:`call_isolated` ended without reporting: killed by a signal (a crash of a
    library in it, or ``SIGALRM`` when it ran past its ``timeout_s``).

    Attributes: ``signal_name`` (``"SIGSEGV"``, ``"SIGALRM"``, ... or None) and ``timed_out``.
    """

    def __init__(self, text, signal_name=None, timed_out=False):
        super().__init__(text)
        self.signal_name, self.timed_out = signal_name, timed_out



def call_isolated(func, *args, timeout_s=None, isolate=None):
    """``func(*args)`` run in a forked child process; its result (or its exception) comes back by pickle.

    For libraries that can crash or loop forever on bad input (HDF5 on a full disk or a damaged file): this
    process survives, and gets :class:`ChildProcessDied` instead. Where ``os.fork`` is not safe and cheap
    (``isolate=None``: Linux only) ``func`` runs here. The child's stderr is kept and shown only on success;
    errors its objects raise while being freed are collected (an error raised in the child carries them, and
    its traceback, as a note).

    Parameters
    ----------
    func : callable
        Its result must pickle; it runs on a copy of this process and cannot change this one.
    timeout_s : float, optional
        The child is killed (``SIGALRM``) if it runs longer: ``ChildProcessDied`` with ``timed_out``.
    isolate : bool, optional
        Force or forbid the child process.
    """
    if not (_FORK_OK if isolate is None else isolate):
        return func(*args)
    r, w = os.pipe()
    try:
        pid = os.fork()
    except BaseException:
        os.close(r)
        os.close(w)
        raise
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        _child(func, args, timeout_s, r, w)
    os.close(w)
    try:
        with os.fdopen(r, "rb") as fh:
            report = fh.read()
        _, status = os.waitpid(pid, 0)
    except BaseException:  # interrupted (Ctrl-C): stop the child, then let the interruption through
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        raise
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        timed_out = name == "SIGALRM" and timeout_s is not None
        raise ChildProcessDied(f"ran past its {timeout_s:g} s" if timed_out else f"signal {name}", name, timed_out)
    if not report:
        raise ChildProcessDied(f"exit status {os.WEXITSTATUS(status)} without a report")
    kind, payload = pickle.loads(report)  # written by our own child process
    if kind == "ok":
        return payload
    raise _unpack_exception(payload)


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


class _Collect:
    """The child's ``sys.unraisablehook``: errors raised while objects are freed, collected, not printed."""

    def __init__(self):
        self.ignored = []

    def __call__(self, unraisable):
        if len(self.ignored) < 1000:
            self.ignored.append(_one_line(unraisable.exc_value))


def _child(func, args, timeout_s, r, w):  # pragma: no cover - runs in the child process
    code = 70
    try:
        os.close(r)
        if timeout_s is not None:
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.alarm(max(1, math.ceil(timeout_s)))
        hook = sys.unraisablehook = _Collect()
        saved = cap = None
        if hasattr(os, "memfd_create"):  # h5py prints a traceback for every object it fails to free: keep them
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
                cap, saved = os.memfd_create("synsem-child-stderr"), os.dup(2)
                os.dup2(cap, 2)
        error = result = None
        try:
            result = func(*args)
        except BaseException as exc:
            error = exc
        printed = b""
        if cap is not None:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.lseek(cap, 0, os.SEEK_SET)
            printed = b"".join(iter(lambda: os.read(cap, 1 << 16), b""))
        if error is None:
            try:
                report = pickle.dumps(("ok", result), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # noqa: BLE001 - a result that does not pickle is the caller's error
                error = TypeError(f"call_isolated: the result of {getattr(func, '__name__', func)!r} does not "
                                  f"pickle ({_one_line(exc)})")
        if error is None:
            if printed:  # the child's warnings, shown as if it had run here
                view = memoryview(printed)
                while view:
                    view = view[os.write(2, view):]
        else:
            report = pickle.dumps(("error", _pack_exception(error, hook.ignored, printed.decode("utf-8", "replace"))))
        view = memoryview(report)
        while view:
            view = view[os.write(w, view):]
        code = 0
    finally:
        os._exit(code)  # no exit handlers: HDF5's would crash after a failed write


def _pack_exception(exc, ignored, printed):  # pragma: no cover - runs in the child process
    lines = printed.splitlines()
    info = {"type": f"{type(exc).__module__}.{type(exc).__qualname__}", "message": str(exc),
            "errno": exc.errno if isinstance(exc, OSError) else None, "ignored": len(ignored),
            "printed": (len(lines), "\n".join(lines[:20])),
            "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
            "chain": [_one_line(e) for e in _chain(exc)[1:]], "pickle": None}
    try:
        blob = pickle.dumps(exc)
        pickle.loads(blob)
        info["pickle"] = blob
    except Exception:  # noqa: BLE001 - an exception that does not pickle comes back as its type and text
        pass
    return info


def _unpack_exception(info):
    exc = pickle.loads(info["pickle"]) if info["pickle"] is not None else None
    if exc is None:
        text = f"{info['type']}: {info['message']}"
        exc = OSError(info["errno"], text) if info["errno"] is not None else RuntimeError(text)
    if isinstance(exc, OSError) and exc.errno is None and info["errno"] is not None:
        exc.errno = info["errno"]
    causes = [RuntimeError(c) for c in info["chain"]]
    if causes:  # keep what the child's exception was raised from, for the disk-full and permission checks
        exc.__cause__ = causes[0]
        for a, b in zip(causes, causes[1:]):
            a.__cause__ = b
    n_lines, first = info["printed"]
    note = (f"(raised in a child process (call_isolated), which ignored {info['ignored']} errors and printed "
            f"{n_lines} lines on stderr{': ' + first if first else ''})\n{info['traceback']}")
    if hasattr(exc, "add_note"):
        exc.add_note(note)
    return exc


def existing_file(path, what):
    """Return ``path`` as a Path, raising DataMissingError naming it if it is not an existing file."""
    path = Path(path)
    if not path.is_file():
        raise input_error("path", f"an existing {what} file", str(path), cls=DataMissingError)
    return path


# ---------------------------------------------------------------------------------------------- checksums
def _is_tensor(obj):
    return type(obj).__module__.split(".")[0] == "torch" and hasattr(obj, "untyped_storage")


def _update(h, obj):
    if obj is None:
        h.update(b"N")
    elif isinstance(obj, (bool, np.bool_)):
        h.update(b"T" if obj else b"F")
    elif isinstance(obj, (int, np.integer)):
        h.update(b"i%d;" % int(obj))
    elif isinstance(obj, (float, np.floating)):
        h.update(b"f" + float(obj).hex().encode() + b";")
    elif isinstance(obj, str):
        data = obj.encode("utf-8", "surrogatepass")
        h.update(b"s%d:" % len(data) + data)
    elif isinstance(obj, (bytes, bytearray)):
        h.update(b"b%d:" % len(obj) + bytes(obj))
    elif isinstance(obj, dict):
        h.update(b"d%d:" % len(obj))
        for key in sorted(obj, key=lambda k: (type(k).__name__, repr(k))):
            _update(h, key)
            _update(h, obj[key])
    elif isinstance(obj, (list, tuple)):
        h.update(b"l%d:" % len(obj))
        for v in obj:
            _update(h, v)
    elif isinstance(obj, np.ndarray):
        arr = np.ascontiguousarray(obj)
        h.update(f"a{arr.dtype.str}{arr.shape}:".encode())
        h.update(arr.view(np.uint8).reshape(-1) if arr.size else b"")
    elif _is_tensor(obj):
        torch = sys.modules["torch"]
        t = obj.detach().cpu().contiguous()
        h.update(f"t{t.dtype}{tuple(t.shape)}:".encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy())
    else:
        raise TypeError(f"payload_sha256: expected dicts, lists, strings, numbers, arrays or tensors; got "
                        f"{type(obj).__name__}")


def payload_sha256(obj):
    """SHA-256 (hex) of a nested payload: dicts (order-free), lists/tuples, str, bytes, numbers, None,
    numpy arrays and torch tensors (dtype, shape and bytes, wherever they live); TypeError for anything else."""
    h = hashlib.sha256()
    _update(h, obj)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------- JSON
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


# ---------------------------------------------------------------------------------------------- data root
def data_root(*parts, must_exist=False, use_env=True):
    """The data directory (``$SYNSEM_DATA``, default ``<repository>/../shared/data``) joined with ``parts``.

    With ``use_env=False`` the repository default alone (for callers that try the variable themselves).
    A ``$SYNSEM_DATA`` that is set but names no directory is used as given (it is never replaced by the
    default) and warned about (UserWarning naming the variable).

    Raises
    ------
    DataMissingError
        If ``must_exist`` and the path does not exist; the message names the path and the variable.
    """
    env = os.environ.get(DATA_ENV) if use_env else None
    root = Path(env).expanduser() if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if env and not root.is_dir():
        warnings.warn(f"environment variable {DATA_ENV}: expected a directory; got {env!r}, which is not one. "
                      f"Set {DATA_ENV} to the directory holding the data, or unset it.", UserWarning, stacklevel=2)
    path = root.joinpath(*parts)
    if must_exist and not path.exists():
        raise DataMissingError(
            f"data: expected {path} to exist; got no such path. Set the environment variable {DATA_ENV} "
            f"to the directory holding the data (now {'set to ' + env if env else 'unset'})."
        )
    return path


def environment_problems(environ=None):
    """What is wrong with the ``SYNSEM_*`` environment variables, one message each (empty list: nothing).

    A variable whose name starts with ``SYNSEM`` but is none of :data:`KNOWN_ENV` (a typo such as
    ``SYNSEM_DAT``: synsem_ephys would silently not read it) is named with the closest known name; a known
    variable that must name a directory and does not is named with its value.
    """
    env = os.environ if environ is None else environ
    problems = []
    for name in sorted(env):
        if name.upper().startswith("SYNSEM") and name not in KNOWN_ENV:
            close = difflib.get_close_matches(name.upper(), list(KNOWN_ENV), n=1, cutoff=0.6)
            hint = f"Did you mean {close[0]}?" if close else "Unset it."
            problems.append(f"environment variable {name}: expected one of {', '.join(KNOWN_ENV)} (no other is read); "
                            f"got {name} set. {hint}")
    for name, (what, is_dir) in KNOWN_ENV.items():
        value = env.get(name)
        if value is None or not is_dir:
            continue
        if not value.strip():
            problems.append(f"environment variable {name}: expected {what}; got an empty value. Set it or unset it.")
        elif not Path(value).expanduser().is_dir():
            problems.append(f"environment variable {name}: expected {what}; got {value!r}, which is not a directory.")
    return problems
