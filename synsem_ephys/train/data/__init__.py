"""Datasets for training TTFS networks: MNIST (IDX files), Yin-Yang (generated), 8x8 digits.

Every loader returns a :class:`LabelledData`: features ``x`` as float64 in [0, 1], shape
``(n_samples, n_features)``, and integer labels ``y`` in ``0 .. n_classes - 1``.  Features become
spike times through :func:`synsem_ephys.encoding.latency_encode`.

Modules: :mod:`~.base` (LabelledData, names, shapes), :mod:`~.idx` (the IDX format), :mod:`~.mnist`,
:mod:`~.yinyang`, :mod:`~.digits`, :mod:`~.locust` (odour responses, spike latencies),
:mod:`~.spoken_digits` (T2, synthetic spoken digits, bundled spike times); :func:`load_dataset` and :func:`split_validation` are the registry.
"""

import numpy as np

from ...errors import input_error
from .base import DATASET_NAMES, IMAGE_SHAPES, LabelledData, dataset_shape
from .digits import load_digits
from .idx import idx_md5, read_idx
from .locust import load_locust_odours
from .mnist import (MNIST_FILES, MNIST_MD5, MNIST_SUBSET_DIR, MNIST_SUBSET_MD5, download_mnist, find_mnist_file,
                    load_mnist, load_mnist_test_subset, mnist_dir, verify_mnist, write_mnist_test_subset)
from .spoken_digits import load_spoken_digits
from .yinyang import load_yin_yang, yin_yang

__all__ = ["IMAGE_SHAPES", "LabelledData", "MNIST_FILES", "MNIST_MD5", "DATASET_NAMES", "dataset_shape", "read_idx",
           "idx_md5", "mnist_dir", "find_mnist_file", "verify_mnist", "load_mnist", "download_mnist",
           "MNIST_SUBSET_DIR", "MNIST_SUBSET_MD5", "load_mnist_test_subset", "write_mnist_test_subset", "yin_yang",
           "load_yin_yang", "load_digits", "load_locust_odours", "load_spoken_digits", "load_dataset", "split_validation"]


def load_dataset(name, split, *, data_dir=None, seed=0, n_samples=None):
    """Load ``split`` (``"train"`` or ``"test"``) of dataset ``name`` (see :data:`DATASET_NAMES`).

    ``data_dir`` is used by MNIST and locust only, ``seed`` by Yin-Yang (data), digits (split), locust (fold) and
    spoken_digits (which voice variants are the test speakers).
    ``n_samples`` keeps the first ``n_samples`` samples (MNIST, digits) or sets the generated size
    (Yin-Yang).
    """
    dataset_shape(name)
    if n_samples is not None and (isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer))
                                  or n_samples < 1):
        raise input_error("n_samples", "a positive int or None", repr(n_samples))
    if name == "yinyang":
        return load_yin_yang(split, seed, n_samples=n_samples)
    if split not in ("train", "test"):
        raise input_error("split", "one of ['train', 'test']", repr(split))
    if name == "locust":
        data = load_locust_odours(split, seed=seed, data_dir=data_dir)
    elif name == "spoken_digits":
        data = load_spoken_digits(split, seed=seed)
    else:
        data = load_mnist(split, data_dir) if name == "mnist" else load_digits(split, seed=seed)
    if n_samples is not None:
        data = data.subset(slice(0, int(n_samples)))
    return data


def split_validation(data, val_fraction, seed):
    """Split ``data`` into (train, validation) with a seeded permutation.

    Returns ``(data, None)`` when ``val_fraction`` is 0.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise input_error("val_fraction", "a float in [0, 1)", val_fraction)
    if val_fraction == 0.0:
        return data, None
    perm = np.random.default_rng(seed).permutation(len(data))
    n_val = max(1, int(round(val_fraction * len(data))))
    return data.subset(np.sort(perm[n_val:]), split="train"), data.subset(np.sort(perm[:n_val]), split="val")
