"""Deprecated alias of :mod:`synsem_ephys.train.data` (kept for one release)."""

import warnings

from .data import *  # noqa: F401,F403
from .data import __all__  # noqa: F401
from .data.idx import _check_md5  # noqa: F401
from .data.mnist import _repo_default_mnist  # noqa: F401

warnings.warn("synsem_ephys.train.datasets is deprecated; import from synsem_ephys.train.data instead.",
              DeprecationWarning, stacklevel=2)
