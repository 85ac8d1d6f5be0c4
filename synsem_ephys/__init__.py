"""synsem_ephys: study trained spiking networks the way electrophysiologists study brains.

Sub-packages (imported on first use: ``import synsem_ephys`` is fast and never imports torch)
-----------------------------------------------------------------------------------------------
sim       exact-time simulator of time-to-first-spike LIF networks (torch)
train     datasets, loss, checkpoints, trainer (torch)
io        every file format and Neo conversion: SpikeRecord <-> neo.Block, NIX, NWB, trial views
analysis  synchrony, pulse packets, STTC, information gain, pathway activity (no torch)
graph     a network's weights as graphs: pathways, overlap, the shuffle null (no torch)
report    every analysis on one recording, science checks, figures, HTML (no torch)
adapters  in-vivo files, published networks and other tools' outputs into the same structure

Top-level modules: ``spec`` (NetworkSpec), ``record`` (SpikeRecord, the flat numpy currency), ``encoding``
(the latency code), ``decision`` (predict = earliest output spike), ``errors``, ``units``.

Example
-------
>>> import synsem_ephys as se                                    # doctest: +SKIP
>>> net = se.sim.Network.load("net.pt"); rec = net.record(t_in, labels=y)
>>> se.io.write_nix(rec, "run.nix"); se.report.write_report(se.io.read_nix_record("run.nix"), "out")
"""

__version__ = "0.1.0"

_SUBMODULES = ("sim", "train", "io", "analysis", "graph", "report", "adapters", "spec", "record", "encoding",
               "decision", "errors", "units")
_LAZY = {"NetworkSpec": "spec", "SpikeRecord": "record", "UnitTable": "record", "TrialTable": "record",
         "LatencyCode": "encoding", "latency_encode": "encoding", "predict": "decision",
         "to_block": "io", "from_block": "io", "read_recording": "io", "Network": "sim"}

__all__ = ["__version__", *_SUBMODULES, *_LAZY]


def __getattr__(name):
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
