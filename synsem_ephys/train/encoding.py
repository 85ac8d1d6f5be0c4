"""Deprecated alias of :mod:`synsem_ephys.encoding` (kept for one release): the latency code is not training."""

import warnings

from ..encoding import *  # noqa: F401,F403
from ..encoding import __all__  # noqa: F401

warnings.warn("synsem_ephys.train.encoding is deprecated; import from synsem_ephys.encoding instead.",
              DeprecationWarning, stacklevel=2)
