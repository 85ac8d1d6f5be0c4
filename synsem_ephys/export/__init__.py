"""Deprecated alias of :mod:`synsem_ephys.io` (kept for one release): ``from synsem_ephys.io import ...``."""

import warnings

from ..io import *  # noqa: F401,F403
from ..io import __all__  # noqa: F401

warnings.warn("synsem_ephys.export is deprecated; import from synsem_ephys.io instead.", DeprecationWarning,
              stacklevel=2)
