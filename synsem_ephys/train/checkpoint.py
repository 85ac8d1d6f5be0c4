"""Atomic training checkpoints: tensors, optimizer state, JSON-able state and RNG states.

A checkpoint is one ``torch.save`` file holding::

    {"format": "synsem_ephys.checkpoint", "version": 1,
     "tensors": {name: Tensor}, "optimizer": optimizer.state_dict() or None,
     "state": JSON text (epoch counters, metrics, config, numpy RNG states ...),
     "torch_rng": {name: ByteTensor},
     "sha256": SHA-256 of all the above (synsem_ephys._files.payload_sha256)}

It is written to a temporary file in the target directory, flushed and fsync'ed, then moved over
the target with ``os.replace`` (atomic on POSIX and Windows), so a run killed while saving leaves
either the previous checkpoint or the new one, never a partial file; a full disk is a DiskFullError
and leaves the previous checkpoint intact.  Loading uses ``torch.load(weights_only=True)``: no code is
unpickled; the checksum is checked, so a file changed on disk (one flipped bit) is a DataFormatError
("checksum mismatch: the file is corrupted"). Checkpoints written before the checksum was stored have
none and load unchecked.

RNG states: :func:`rng_state` captures ``torch.Generator`` objects (as ByteTensors) and
``numpy.random.Generator`` objects (as their JSON-able ``bit_generator.state``);
:func:`restore_rng` puts them back, so a resumed run draws the same numbers as an uninterrupted one.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .._files import json_dumps, payload_sha256, write_atomic
from ..errors import DataFormatError, DataMissingError, input_error

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "rng_state", "restore_rng", "FORMAT", "VERSION"]

FORMAT = "synsem_ephys.checkpoint"
VERSION = 1
#: Entries of a checkpoint besides its optional ``"sha256"`` (absent in checkpoints written before it).
_KEYS = {"format", "version", "tensors", "optimizer", "state", "torch_rng"}


@dataclass(frozen=True)
class Checkpoint:
    """Contents of a checkpoint file.

    Attributes
    ----------
    tensors : dict of str -> torch.Tensor
        Named tensors (e.g. weights).
    state : dict
        JSON-able state (counters, metrics, config, numpy RNG states).
    optimizer : dict or None
        An optimizer's ``state_dict()``.
    torch_rng : dict of str -> torch.Tensor
        ``torch.Generator`` states by name.
    path : str
        File it was loaded from / saved to.
    """

    tensors: dict
    state: dict
    optimizer: dict = None
    torch_rng: dict = field(default_factory=dict)
    path: str = ""


def rng_state(torch_generators=None, numpy_generators=None):
    """Capture generator states.

    Parameters
    ----------
    torch_generators : dict of str -> torch.Generator, optional
    numpy_generators : dict of str -> numpy.random.Generator, optional

    Returns
    -------
    (dict, dict)
        ``torch_rng`` (name -> ByteTensor) and ``numpy_rng`` (name -> JSON-able state dict);
        pass them to :func:`save_checkpoint` as ``torch_rng=`` and inside ``state``.
    """
    t = {k: g.get_state().clone() for k, g in (torch_generators or {}).items()}
    n = {k: g.bit_generator.state for k, g in (numpy_generators or {}).items()}
    return t, n


def restore_rng(torch_rng=None, numpy_rng=None, torch_generators=None, numpy_generators=None):
    """Restore generator states captured by :func:`rng_state` (in place).

    Every generator passed must have a saved state of the same name.
    """
    for name, g in (torch_generators or {}).items():
        if name not in (torch_rng or {}):
            raise input_error("torch_rng", f"a saved state for generator {name!r}", sorted(torch_rng or {}))
        g.set_state(torch_rng[name])
    for name, g in (numpy_generators or {}).items():
        if name not in (numpy_rng or {}):
            raise input_error("numpy_rng", f"a saved state for generator {name!r}", sorted(numpy_rng or {}))
        state = numpy_rng[name]
        if state.get("bit_generator") != type(g.bit_generator).__name__:
            raise input_error(f"numpy_rng[{name!r}]", f"a {type(g.bit_generator).__name__} state",
                              state.get("bit_generator"))
        g.bit_generator.state = state


def save_checkpoint(path, *, tensors, state, optimizer=None, torch_rng=None):
    """Write a checkpoint atomically (temporary file + fsync + ``os.replace``).

    Parameters
    ----------
    path : str or path-like
        Target file; its directory must exist.
    tensors : dict of str -> torch.Tensor
        Saved detached and on the CPU.
    state : dict
        JSON-able (numpy scalars and arrays are converted); a value that is not raises TypeError
        before anything is written.
    optimizer : dict, optional
        ``optimizer.state_dict()``.
    torch_rng : dict of str -> torch.Tensor, optional
        From :func:`rng_state`.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    DiskFullError
        The file system is full (checked before writing from the tensors' size, and while writing); the
        previous checkpoint is intact and no temporary file is left.
    WriteError
        ``path`` cannot be written (permission denied, read-only file system, a directory).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise DataMissingError(f"path: expected a file in an existing directory; got {str(path)!r}. Create the directory first.")
    if not isinstance(tensors, dict) or not all(isinstance(v, torch.Tensor) for v in tensors.values()):
        raise input_error("tensors", "a dict of str -> torch.Tensor", type(tensors).__name__)
    try:
        state_json = json_dumps(state, allow_nan=True)
    except TypeError as exc:
        raise TypeError(f"state: expected JSON-able values; got {exc}. Convert them to lists/numbers/strings.") from exc
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "tensors": {k: v.detach().cpu().clone() for k, v in tensors.items()},
        "optimizer": optimizer,
        "state": state_json,
        "torch_rng": dict(torch_rng or {}),
    }
    payload["sha256"] = payload_sha256(payload)
    size = sum(v.numel() * v.element_size() for v in payload["tensors"].values()) + len(state_json)
    return write_atomic(path, lambda fh: torch.save(payload, fh), size_hint=size)


def load_checkpoint(path, map_location="cpu"):
    """Read a checkpoint written by :func:`save_checkpoint`.

    Its checksum is checked (checkpoints written before checksums were stored have none and load
    unchecked; their layout is still checked).

    Raises
    ------
    DataMissingError
        The file does not exist.
    DataFormatError
        The file is not a readable synsem_ephys checkpoint (truncated, another format, newer version) or is
        corrupted ("checksum mismatch"); the message names it.
    """
    path = Path(path)
    if not path.is_file():
        raise DataMissingError(f"path: expected an existing checkpoint file; got {str(path)!r}, which does not exist.")

    def bad(what):
        return DataFormatError(f"{path}: expected a checkpoint written by synsem_ephys.train.checkpoint.save_checkpoint; "
                               f"{what}. Delete it and restart, or resume from another.")

    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, pickle errors, EOFError, zipfile errors ...
        raise bad(f"could not read it ({type(exc).__name__}: {' '.join(str(exc).split())[:300]})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise DataFormatError(f"{path}: expected format {FORMAT!r}; got {payload.get('format') if isinstance(payload, dict) else type(payload).__name__!r}.")
    if payload.get("version") != VERSION:
        raise DataFormatError(f"{path}: expected checkpoint version {VERSION}; got {payload.get('version')!r}. "
                              "It was written by another version of synsem_ephys.")
    keys = set(payload) - {"sha256"}
    if keys != _KEYS:
        raise bad(f"got the entries {sorted(map(str, payload))} (the file is corrupted)")
    if "sha256" in payload:
        try:
            ok = payload_sha256({k: v for k, v in payload.items() if k != "sha256"}) == payload["sha256"]
        except TypeError:
            ok = False
        if not ok:
            raise DataFormatError(f"{path}: checksum mismatch: the file is corrupted (the SHA-256 of its contents "
                                  "differs from the one stored when it was written). Delete it and restart, or "
                                  "resume from a copy.")
    tensors, rng, opt = payload["tensors"], payload["torch_rng"], payload["optimizer"]
    if not (isinstance(tensors, dict) and all(isinstance(v, torch.Tensor) for v in tensors.values())
            and isinstance(rng, dict) and all(isinstance(v, torch.Tensor) for v in rng.values())
            and (opt is None or isinstance(opt, dict))):
        raise bad("its tensors, RNG states or optimizer state are not of the saved types")
    try:
        state = json.loads(payload["state"])
    except (TypeError, ValueError) as exc:
        raise bad(f"its state is not JSON ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict):
        raise bad(f"its state is a {type(state).__name__}, not a JSON object")
    return Checkpoint(tensors=tensors, state=state, optimizer=opt, torch_rng=rng, path=str(path))
