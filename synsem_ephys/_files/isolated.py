"""A call in a forked child process, for libraries that crash or loop forever on bad input.

:func:`call_isolated` runs ``func(*args)`` in a forked child (Linux), with a timeout; its result or its
exception comes back by pickle, and a child killed by a signal (a crash of HDF5 on a damaged file, or the
timeout) is a :class:`ChildProcessDied` in this process, which survives. The atomic writers of HDF5 files use
it (:func:`synsem_ephys._files.atomic.write_path_atomic`), so do the NIX and NWB readers.
"""

import contextlib
import math
import os
import pickle
import signal
import sys
import traceback


__all__ = ["call_isolated", "ChildProcessDied", "read_isolated"]

#: Writers of write_path_atomic run in a forked child by default where fork is safe and cheap.
_FORK_OK = hasattr(os, "fork") and sys.platform.startswith("linux")


def _one_line(exc):
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}{'...' if len(text) > 300 else ''}"


def _chain(exc):
    """``exc`` and the exceptions it was raised from or during, without repeats."""
    seen = []
    while exc is not None and all(exc is not s for s in seen) and len(seen) < 20:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


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




def read_isolated(func, path, *args, what, timeout_s=None):
    """``func(path, *args)`` through :func:`call_isolated`, for a reader of a file that can hang or crash its
    library (HDF5 on a damaged file): a child that crashed or ran past ``timeout_s`` (default 120 s plus 2 s per
    MB of the file) is a DataFormatError naming ``path`` and the ``what`` it should have been ("NIX", "NWB")."""
    from ..errors import DataFormatError, input_error

    if timeout_s is None:
        timeout_s = 120.0 + 2.0 * os.path.getsize(path) / 1e6
    try:
        return call_isolated(func, path, *args, timeout_s=timeout_s)
    except ChildProcessDied as exc:
        how = (f"did not finish within {timeout_s:g} s" if exc.timed_out else
               f"crashed the HDF5 library ({exc.signal_name or exc})")
        raise input_error("path", f"a readable {what} file", f"{path}, whose reading {how}",
                          "The file is damaged: write it again, or pass a larger timeout_s if it is only slow.",
                          cls=DataFormatError) from exc
