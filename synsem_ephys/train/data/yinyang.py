"""
"""

import numpy as np

from ...errors import input_error
from .base import LabelledData

__all__ = ["yin_yang", "load_yin_yang"]


def _yin_yang_class(x, y, r_small, r_big):
    d_left = np.hypot(x - 0.5 * r_big, y - r_big)
    d_right = np.hypot(x - 1.5 * r_big, y - r_big)
    dot = (d_left <= r_small) | (d_right <= r_small)
    yin = (d_left <= 0.5 * r_big) | ((y > r_big) & (d_right > 0.5 * r_big))
    return np.where(dot, 2, np.where(yin, 0, 1))


def yin_yang(n_samples, seed, *, r_small=0.1, r_big=0.5, bias=True, bias_value=1.0):
    """Generate the Yin-Yang dataset of Kriener et al. (2021).

    Parameters
    ----------
    n_samples : int
        Number of samples.
    seed : int or numpy.random.SeedSequence
        Seed of the ``numpy.random.Generator`` (same seed, same data).
    r_small, r_big : float
        Radii of the dots and of the whole symbol (defaults of the original: 0.1 and 0.5).
    bias : bool
        Append a constant bias feature (5 features instead of 4).
    bias_value : float
        Value of the bias feature in [0, 1] (1.0 encodes to the earliest input time).

    Returns
    -------
    LabelledData
        ``x`` columns ``(x, y, 1 - x, 1 - y[, bias])`` scaled to [0, 1] by ``2 r_big``;
        labels 0 = yin, 1 = yang, 2 = dot.
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 0:
        raise input_error("n_samples", "a non-negative int", repr(n_samples))
    if not (0 < r_small < 0.5 * r_big):
        raise input_error("r_small", f"0 < r_small < r_big / 2 = {0.5 * r_big}", r_small)
    if not 0.0 <= bias_value <= 1.0:
        raise input_error("bias_value", "a value in [0, 1]", bias_value)
    rng = np.random.default_rng(seed)
    goals = rng.integers(0, 3, size=n_samples)
    need = np.bincount(goals, minlength=3)
    pools = [[] for _ in range(3)]
    have = np.zeros(3, dtype=np.int64)
    # rejection sampling in blocks: uniform in the square, keep points inside the disc, sort by class
    while np.any(have < need):
        cand = rng.random((max(256, 2 * int(need.max())), 2)) * 2.0 * r_big
        cand = cand[np.hypot(cand[:, 0] - r_big, cand[:, 1] - r_big) <= r_big]
        cls = _yin_yang_class(cand[:, 0], cand[:, 1], r_small, r_big)
        for c in range(3):
            if have[c] < need[c]:
                take = cand[cls == c][: need[c] - have[c]]
                pools[c].append(take)
                have[c] += take.shape[0]
    pts = np.empty((n_samples, 2))
    for c in range(3):
        pts[goals == c] = np.concatenate(pools[c]) if pools[c] else np.empty((0, 2))
    labels = goals.astype(np.int64)
    u = pts / (2.0 * r_big)
    cols = [u[:, 0], u[:, 1], 1.0 - u[:, 0], 1.0 - u[:, 1]]
    if bias:
        cols.append(np.full(n_samples, float(bias_value)))
    x = np.stack(cols, axis=1) if n_samples else np.empty((0, 5 if bias else 4))
    return LabelledData(x, labels, 3, "yinyang", "all", ("yin", "yang", "dot"))


def load_yin_yang(split="train", seed=0, *, n_samples=None, **kwargs):
    """A Yin-Yang split with its own random stream: train (5,000 samples) or test (1,000).

    The split's generator is seeded with ``[seed, k]`` (k = 0 train, 1 test), so train and test are
    independent draws and each is reproducible.  Sizes follow Kriener et al.; ``n_samples``
    overrides them.  Other keyword arguments go to :func:`yin_yang`.
    """
    sizes = {"train": 5000, "test": 1000}
    if split not in sizes:
        raise input_error("split", f"one of {list(sizes)}", repr(split))
    n = sizes[split] if n_samples is None else n_samples
    data = yin_yang(n, np.random.SeedSequence([int(seed), list(sizes).index(split)]), **kwargs)
    return data.subset(slice(None), split=split)
