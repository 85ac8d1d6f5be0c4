"""Exact-time simulator of feedforward time-to-first-spike LIF networks (PyTorch).

See :mod:`synsem_ephys.sim.kernels` for the neuron model and closed forms and
:mod:`synsem_ephys.sim.ttfs` for the grouped exact forward and backward.
"""

from .kernels import Kernel
from .lambertw import lambertw0
from .ttfs import spike_times

__all__ = ["Kernel", "lambertw0", "spike_times"]

from .network import Network  # noqa: E402

__all__ += ["Network"]
