"""synsem_ephys: study trained spiking networks the way electrophysiologists study brains.

Sub-packages
------------
sim       exact-time simulator of time-to-first-spike LIF networks (torch)
train     datasets, encoders, loss and trainer (torch)
record    SpikeRecord, the flat numpy currency between torch and Neo
analysis  synchrony, pulse packets, STTC, information gain (no torch)
graph     pathway graphs from weights (networkx, no torch)
adapters  real in-vivo files and other simulators into the same Neo structure

torch is imported only by ``sim`` and ``train``; importing this package does not import it.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
