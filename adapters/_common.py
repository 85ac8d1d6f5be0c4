"""Shared helpers of the adapters: locating data, checking paths, optional-import hints."""

import os
from pathlib import Path

from synsem_ephys.errors import DataMissingError, input_error

__all__ = ["DATA_ENV", "data_dir", "require_path", "import_optional"]

#: Environment variable naming the directory with the real data (``mnist/``, ``ephys/`` ...).
DATA_ENV = "SYNSEM_DATA"


def data_dir(*parts, must_exist=True):
    """The data directory (``$SYNSEM_DATA``, default ``<repo>/../shared/data``) joined with ``parts``.

    Raises
    ------
    DataMissingError
        If ``must_exist`` and the path does not exist; the message names the path and the variable.
    """
    env = os.environ.get(DATA_ENV)
    root = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"
    path = root.joinpath(*parts)
    if must_exist and not path.exists():
        raise DataMissingError(
            f"data: expected {path} to exist; got no such path. Set the environment variable {DATA_ENV} "
            f"to the directory holding the data (now {'set to ' + env if env else 'unset'})."
        )
    return path


def require_path(path, what, kind="file"):
    """Return ``path`` as a Path if it is an existing ``kind`` ("file" or "dir"), else DataMissingError."""
    path = Path(path)
    ok = path.is_file() if kind == "file" else path.is_dir()
    if not ok:
        raise input_error("path", f"an existing {what} {kind}", str(path),
                          f"Download it or point {DATA_ENV} at the data directory.", cls=DataMissingError)
    return path


def import_optional(module, extra):
    """Import ``module`` or raise ImportError with an install hint."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{module}: required by this adapter but not installed. Install it with "
                          f"`pip install {extra}`.") from exc
