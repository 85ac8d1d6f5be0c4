"""Checked opening, the one JSON encoder, content checksums, the one data root and the environment.

Checksums: :func:`payload_sha256` is the SHA-256 of a nested payload (dicts, lists, strings, numbers, numpy
arrays, torch tensors' bytes with their dtypes and shapes) independent of dict order, stored in the network
and checkpoint files and checked when they are loaded.

JSON: :func:`to_jsonable` turns numpy scalars and arrays, tuples, sets and paths into JSON types
(optionally non-finite floats into ``null``); :func:`json_dumps` is ``json.dumps`` with it.

Data root and environment: :func:`data_root` is where real data (``mnist/``, ``ephys/``, ``fastanddeep/``) is
looked for: ``$SYNSEM_DATA``, else ``<repository>/../shared/data`` (a checkout's neighbour).
:func:`environment_problems` lists mistyped ``SYNSEM_*`` variables and known ones that name no directory.
"""

import difflib
import hashlib
import json
import math
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from ..errors import DataMissingError, input_error

__all__ = ["existing_file", "payload_sha256", "to_jsonable", "json_dumps", "DATA_ENV", "MNIST_ENV", "KNOWN_ENV",
           "data_root", "environment_problems"]

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
    root = Path(env).expanduser() if env else Path(__file__).resolve().parents[3] / "shared" / "data"
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
