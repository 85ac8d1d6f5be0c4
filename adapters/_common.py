"""Shared helpers of the adapters: locating data, checking paths, optional-import hints."""

from pathlib import Path

from synsem_ephys._files import DATA_ENV, data_root
from synsem_ephys.errors import DataMissingError, input_error
from synsem_ephys.optional import require

__all__ = ["DATA_ENV", "data_dir", "require_path", "import_optional"]

def data_dir(*parts, must_exist=True):
    """The data directory (:func:`synsem_ephys._files.data_root`: ``$SYNSEM_DATA``, default
    ``<repo>/../shared/data``) joined with ``parts``; DataMissingError naming the path and the variable
    when ``must_exist`` and it does not exist."""
    return data_root(*parts, must_exist=must_exist)


def require_path(path, what, kind="file"):
    """Return ``path`` as a Path if it is an existing ``kind`` ("file" or "dir"), else DataMissingError."""
    path = Path(path)
    ok = path.is_file() if kind == "file" else path.is_dir()
    if not ok:
        raise input_error("path", f"an existing {what} {kind}", str(path),
                          f"Download it or point {DATA_ENV} at the data directory.", cls=DataMissingError)
    return path


def import_optional(module, purpose=None):
    """Import ``module`` or raise ImportError naming the extra to install (:func:`synsem_ephys.optional.require`)."""
    return require(module, purpose)
