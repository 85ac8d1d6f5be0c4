"""Training of time-to-first-spike networks: datasets, latency encoding, loss, checkpoints, trainer.

Modules
-------
data        MNIST (IDX files), Yin-Yang (generated), scikit-learn's 8x8 digits
loss        cross-entropy over softmax(-t / (xi tau_syn)) + alpha exp(t_label / (beta tau_syn)); predict
checkpoint  atomic torch.save checkpoints with optimizer and RNG states
config      TrainConfig (frozen dataclass, YAML round trip, validation)
trainer     Trainer and train_from_config (needs synsem_ephys.sim)
sweeps      one run per seed / setting as resumable jobs on any executor, with a table over seeds

The latency code is :mod:`synsem_ephys.encoding` (the stimulus, shared with inference); its names are
re-exported here. ``data`` and ``config`` work without torch; the torch-based names are imported
on first use.
"""

from .config import ConfigError, TrainConfig, load_config
from .data import LabelledData, load_dataset, load_digits, load_mnist, load_yin_yang, mnist_dir, yin_yang
from ..encoding import LatencyCode, jitter_times, latency_encode

__all__ = [
    "ConfigError",
    "TrainConfig",
    "load_config",
    "LabelledData",
    "load_dataset",
    "load_digits",
    "load_mnist",
    "load_yin_yang",
    "mnist_dir",
    "yin_yang",
    "jitter_times",
    "LatencyCode",
    "latency_encode",
    "ttfs_loss",
    "predict",
    "accuracy",
    "save_checkpoint",
    "load_checkpoint",
    "Trainer",
    "TrainResult",
    "EpochMetrics",
    "train_from_config",
    "network_from_checkpoint",
    "initial_network",
    "initial_null",
    "sweep",
    "seed_table",
]

_LAZY = {
    "ttfs_loss": "loss",
    "predict": "loss",
    "accuracy": "loss",
    "save_checkpoint": "checkpoint",
    "load_checkpoint": "checkpoint",
    "Trainer": "trainer",
    "TrainResult": "trainer",
    "EpochMetrics": "trainer",
    "train_from_config": "trainer",
    "network_from_checkpoint": "trainer",
    "initial_network": "trainer",
    "initial_null": "trainer",
    "sweep": "sweeps",
    "seed_table": "sweeps",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
