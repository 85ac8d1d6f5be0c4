"""8x8 digits.

Every loader returns a :class:`LabelledData`: features ``x`` as float64 in [0, 1], shape
``(n_samples, n_features)``, and integer labels ``y`` in ``0 .. n_classes - 1``.  Features become
spike times through :func:`synsem_ephys.encoding.latency_encode`.

MNIST
-----
The four IDX files of LeCun, Cortes & Burges (gzip-compressed or plain) are read from a directory
resolved by :func:`mnist_dir`.  IDX layout (big-endian)::

    bytes 0-1   0x00 0x00
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    4 * d bytes the sizes of the dimensions (uint32)
    then        prod(sizes) elements, row-major

Pixels are scaled ``x = pixel / 255``.  :func:`verify_mnist` compares the MD5 of the *uncompressed*
contents with the canonical values (:data:`MNIST_MD5`).  :func:`download_mnist` is a convenience for
users; nothing in the package or its tests depends on the network.

Yin-Yang (Kriener et al. 2021, "The Yin-Yang dataset", arXiv:2102.08211)
--------------------------------------------------------------------------
Points ``(x, y)`` are drawn uniformly in the square ``[0, 2 r_big]^2`` and kept if they lie inside
the big circle of radius ``r_big`` around ``(r_big, r_big)``.  With the distances ``d_l``, ``d_r`` to
the centres of the two small dots, ``(r_big / 2, r_big)`` and ``(3 r_big / 2, r_big)``::

    dot   if d_l <= r_small or d_r <= r_small                                  (label 2)
    yin   else if d_l <= r_big / 2  or  (y > r_big and d_r > r_big / 2)        (label 0)
    yang  otherwise                                                            (label 1)

As in the original generator, each sample first draws its target class uniformly from the three
classes and then receives a point rejection-sampled from that class's region, so the classes are
balanced in expectation although their areas differ (here the rejection sampling is done in
vectorised blocks; the distribution is the same, the random stream is not the original's).  The features are ``(x, y, 1 - x, 1 - y)``
(so every sample has the same summed input) plus, by default, a constant bias feature
(``bias_value``), 5 inputs in all.

8x8 digits
----------
scikit-learn's bundled copy of the UCI optical digits test set (1,797 images, values 0..16 scaled
``x = v / 16``); a tiny offline dataset for fast tests.  Requires scikit-learn
(``pip install synsem-ephys[digits]``).
"""

import numpy as np

from ...errors import input_error
from ...optional import require
from .base import LabelledData

__all__ = ["load_digits"]


def load_digits(split="all", *, test_fraction=0.2, seed=0):
    """scikit-learn's bundled 8x8 digits, values scaled to [0, 1].

    Parameters
    ----------
    split : {"all", "train", "test"}
        The whole set (1,797 samples) or one side of a seeded, stratified split.
    test_fraction : float
        Fraction of each class that goes to the test side.
    seed : int
        Seed of the split.
    """
    if split not in ("all", "train", "test"):
        raise input_error("split", "one of ['all', 'train', 'test']", repr(split))
    if not 0.0 < test_fraction < 1.0:
        raise input_error("test_fraction", "a float in (0, 1)", test_fraction)
    _sk_load_digits = require("sklearn.datasets", "the 8x8 digits dataset").load_digits
    raw = _sk_load_digits()
    data = LabelledData(np.asarray(raw.data, dtype=np.float64) / 16.0, np.asarray(raw.target, dtype=np.int64),
                        10, "digits", "all", tuple(str(i) for i in range(10)))
    if split == "all":
        return data
    rng = np.random.default_rng(seed)
    test = np.zeros(len(data), dtype=bool)
    for c in range(10):
        idx = np.flatnonzero(data.y == c)
        test[rng.permutation(idx)[: int(round(test_fraction * idx.size))]] = True
    return data.subset(np.flatnonzero(test if split == "test" else ~test), split=split)
