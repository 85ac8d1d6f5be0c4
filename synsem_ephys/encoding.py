"""The stimulus of an experiment: latency (time-to-first-spike) encoding of features in [0, 1] (Göltz et al. 2021).

One encoder for training, inference (demo, CLI) and analysis: :class:`LatencyCode` holds its four
parameters (``LatencyCode.from_config(cfg)`` takes them from a training config or anything with the
same attribute names) and :func:`latency_encode` applies them.

A feature ``x`` in [0, 1] becomes one input spike at::

    t = tau_syn_ms * (t_early + (1 - x) * (t_late - t_early))          [ms]

so bright pixels / large values spike early.  ``t_early`` and ``t_late`` are in units of the
synaptic time constant (defaults 0.15 and 2.0, the values of fast-and-deep).  With
``zero_never_spikes=True`` a feature exactly 0 produces no spike (``+inf``) instead of a spike at
``t_late``; the simulator treats ``+inf`` inputs as absent.

:func:`jitter_times` adds Gaussian noise to finite input times (the "training noise" of
fast-and-deep), leaving ``+inf`` untouched and clipping at 0 ms so no input precedes stimulus onset.

Both functions accept numpy arrays (returning float64 numpy) and torch tensors (returning a tensor
of the same floating dtype and device); torch is imported only when a tensor is passed.
"""

import math
import numbers
from dataclasses import dataclass

import numpy as np

from .errors import input_error

__all__ = ["DEFAULT_T_EARLY", "DEFAULT_T_LATE", "LatencyCode", "latency_encode", "jitter_times", "shift_images"]

#: Earliest input time in units of tau_syn (fast-and-deep).
DEFAULT_T_EARLY = 0.15
#: Latest input time in units of tau_syn (fast-and-deep).
DEFAULT_T_LATE = 2.0


@dataclass(frozen=True)
class LatencyCode:
    """The latency code's parameters: ``t = tau_syn_ms * (t_early + (1 - x) * (t_late - t_early))``.

    Attributes
    ----------
    tau_syn_ms : float
    t_early, t_late : float
        Spike times of ``x = 1`` and ``x = 0`` in units of ``tau_syn_ms``.
    zero_never_spikes : bool
        ``x == 0`` gives no spike (``+inf``) instead of one at ``t_late``.
    """

    tau_syn_ms: float
    t_early: float = DEFAULT_T_EARLY
    t_late: float = DEFAULT_T_LATE
    zero_never_spikes: bool = False

    def __post_init__(self):
        _check_params(self.tau_syn_ms, self.t_early, self.t_late)

    @classmethod
    def from_config(cls, cfg):
        """The code of a :class:`~synsem_ephys.train.TrainConfig` (or any object with the same attributes)."""
        return cls(float(cfg.tau_syn_ms), float(cfg.t_early), float(cfg.t_late), bool(cfg.zero_never_spikes))

    def encode(self, x):
        """Spike times in ms of features ``x`` in [0, 1] (numpy or torch, see :func:`latency_encode`)."""
        return latency_encode(x, tau_syn_ms=self.tau_syn_ms, t_early=self.t_early, t_late=self.t_late,
                              zero_never_spikes=self.zero_never_spikes)

    @property
    def zero_ms(self):
        """The input time of a feature 0 (a black pixel, e.g. shifted into an image), or ``+inf``."""
        return float(self.encode(np.zeros(1))[0])


def _real(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _is_torch(x):
    return type(x).__module__.startswith("torch")


def _check_params(tau_syn_ms, t_early, t_late):
    if not (_real(tau_syn_ms) and math.isfinite(tau_syn_ms) and tau_syn_ms > 0):
        raise input_error("tau_syn_ms", "a positive finite float (ms)", repr(tau_syn_ms))
    for name, v in (("t_early", t_early), ("t_late", t_late)):
        if not (_real(v) and math.isfinite(v) and v >= 0):
            raise input_error(name, "a non-negative finite float (units of tau_syn)", repr(v))
    if not t_late > t_early:
        raise input_error("t_late", f"a value greater than t_early = {t_early}", t_late,
                          "Large features spike at t_early, zero features at t_late.")


def latency_encode(x, *, tau_syn_ms, t_early=DEFAULT_T_EARLY, t_late=DEFAULT_T_LATE, zero_never_spikes=False):
    """Map features in [0, 1] to first-spike times in ms.

    Parameters
    ----------
    x : array_like or torch.Tensor
        Features, any shape, values in [0, 1] (NaN is rejected).
    tau_syn_ms : float
        Synaptic time constant (ms), the unit of ``t_early`` and ``t_late``.
    t_early, t_late : float
        Spike times of ``x = 1`` and ``x = 0`` in units of ``tau_syn_ms``.
    zero_never_spikes : bool
        If True, ``x == 0`` gives ``+inf`` (no spike) instead of ``t_late``.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Spike times (ms), same shape as ``x``.

    Raises
    ------
    ValueError
        If a parameter is invalid or a feature lies outside [0, 1].
    """
    _check_params(tau_syn_ms, t_early, t_late)
    if _is_torch(x):
        import torch

        xt = x if torch.is_floating_point(x) else x.to(torch.float64)
        if xt.numel() and (torch.isnan(xt).any() or xt.min() < 0 or xt.max() > 1):
            bad = "NaN" if torch.isnan(xt).any() else f"range [{float(xt.min())}, {float(xt.max())}]"
            raise input_error("x", "features in [0, 1]", bad, "Scale the features to [0, 1] first.")
        t = tau_syn_ms * (t_early + (1.0 - xt) * (t_late - t_early))
        if zero_never_spikes:
            t = torch.where(xt == 0, torch.full_like(t, math.inf), t)
        return t
    xa = np.asarray(x, dtype=np.float64)
    if xa.size and (np.isnan(xa).any() or xa.min() < 0 or xa.max() > 1):
        bad = "NaN" if np.isnan(xa).any() else f"range [{xa.min()}, {xa.max()}]"
        raise input_error("x", "features in [0, 1]", bad, "Scale the features to [0, 1] first.")
    t = tau_syn_ms * (t_early + (1.0 - xa) * (t_late - t_early))
    if zero_never_spikes:
        t = np.where(xa == 0, np.inf, t)
    return t


def jitter_times(times_ms, std_ms, generator):
    """Add Gaussian noise of standard deviation ``std_ms`` to the finite times, clipped at 0 ms.

    Parameters
    ----------
    times_ms : numpy.ndarray or torch.Tensor
        Input spike times (ms); ``+inf`` (no spike) stays ``+inf``.
    std_ms : float
        Noise standard deviation (ms); 0 returns the input unchanged.
    generator : numpy.random.Generator or torch.Generator
        Source of randomness, matching the type of ``times_ms`` (a numpy Generator for numpy input,
        a ``torch.Generator`` for tensors).

    Returns
    -------
    Same type as ``times_ms``.
    """
    if not (_real(std_ms) and math.isfinite(std_ms) and std_ms >= 0):
        raise input_error("std_ms", "a non-negative finite float (ms)", repr(std_ms))
    if std_ms == 0:
        return times_ms
    if _is_torch(times_ms):
        import torch

        if not isinstance(generator, torch.Generator):
            raise input_error("generator", "a torch.Generator for tensor input", type(generator).__name__)
        # Drawn on the generator's device (the CPU for torch.Generator()) and moved: the same noise
        # sequence whichever device the times are on, so a run may resume on another device.
        noise = torch.randn(times_ms.shape, generator=generator, dtype=times_ms.dtype,
                            device=generator.device).to(times_ms.device) * std_ms
        return torch.where(torch.isinf(times_ms), times_ms, (times_ms + noise).clamp_min(0.0))
    if not isinstance(generator, np.random.Generator):
        raise input_error("generator", "a numpy.random.Generator for numpy input", type(generator).__name__,
                          "Use numpy.random.default_rng(seed).")
    t = np.asarray(times_ms, dtype=np.float64)
    noisy = np.clip(t + generator.normal(0.0, std_ms, size=t.shape), 0.0, None)
    return np.where(np.isinf(t), t, noisy)


def shift_images(times_ms, image_shape, max_shift, generator, fill):
    """Translate each flattened image by a random whole number of pixels (training-data augmentation).

    Every sample is shifted by ``(dy, dx)`` drawn uniformly from ``{-max_shift, ..., max_shift}`` in
    each direction; pixels shifted in from outside the image get ``fill`` (the code of a black pixel:
    ``+inf`` when black pixels never spike, else the latest input time).  Applied to input spike
    times, this equals encoding the shifted intensities, because the latency code acts pixel by pixel.

    Parameters
    ----------
    times_ms : torch.Tensor
        Shape ``(n_samples, height * width)``: row-major flattened images (input times or intensities).
    image_shape : (int, int)
        ``(height, width)``.
    max_shift : int
        Largest shift in pixels, ``0 <= max_shift < min(height, width)``; 0 returns the input unchanged.
    generator : torch.Generator
        Source of the shifts.  They are drawn on the generator's device and moved, so the same
        shifts come out whichever device the times are on.
    fill : float
        Value of the pixels shifted in.

    Returns
    -------
    torch.Tensor
        Same shape, dtype and device as ``times_ms``.
    """
    import torch

    if not _is_torch(times_ms) or times_ms.dim() != 2:
        raise input_error("times_ms", "a 2-D torch.Tensor (n_samples, height * width)",
                          type(times_ms).__name__ if not _is_torch(times_ms) else f"shape {tuple(times_ms.shape)}")
    if not (isinstance(image_shape, (tuple, list)) and len(image_shape) == 2
            and all(isinstance(v, int) and v > 0 for v in image_shape)):
        raise input_error("image_shape", "(height, width), two positive ints", repr(image_shape))
    h, w = image_shape
    if times_ms.shape[1] != h * w:
        raise input_error("times_ms", f"{h * w} columns (image_shape {h} x {w})", times_ms.shape[1])
    if isinstance(max_shift, bool) or not isinstance(max_shift, int) or not 0 <= max_shift < min(h, w):
        raise input_error("max_shift", f"an int in [0, {min(h, w) - 1}]", repr(max_shift))
    if not isinstance(generator, torch.Generator):
        raise input_error("generator", "a torch.Generator", type(generator).__name__)
    if max_shift == 0:
        return times_ms
    n, k = times_ms.shape[0], max_shift
    d = torch.randint(-k, k + 1, (n, 2), generator=generator, device=generator.device).to(times_ms.device)
    padded = torch.full((n, h + 2 * k, w + 2 * k), float(fill), dtype=times_ms.dtype, device=times_ms.device)
    padded[:, k:k + h, k:k + w] = times_ms.reshape(n, h, w)
    # out[i, r, c] = in[i, r - dy, c - dx] = padded[i, r - dy + k, c - dx + k]
    rows = torch.arange(h, device=times_ms.device)[None, :] + (k - d[:, 0:1])
    cols = torch.arange(w, device=times_ms.device)[None, :] + (k - d[:, 1:2])
    out = padded[torch.arange(n, device=times_ms.device)[:, None, None], rows[:, :, None], cols[:, None, :]]
    return out.reshape(n, h * w)
