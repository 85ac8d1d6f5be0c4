"""Principal branch W_0 of the Lambert W function on [-1/e, 0], in torch.

W(z) solves ``W exp(W) = z``. The first-spike time of the tau_mem == tau_syn neuron needs only
W_0 on [-1/e, 0) (Göltz et al. 2021, eq. 8), so that is all this module provides.

Method: a start value from the branch-point series (z < -0.25),
``W = -1 + p - p^2/3 + 11 p^3/72 - 43 p^4/540 + 769 p^5/17280``, ``p = sqrt(2 (e z + 1))``,
or the Taylor series ``z - z^2 + 3 z^3/2`` near 0; then Halley's iteration
``w <- w - f / (e^w (w + 1) - (w + 2) f / (2 w + 2))``, ``f = w e^w - z``, a fixed number of times.
Within ``p < 1e-3`` of the branch point the series alone is exact to rounding and is used as is.
Works in float32 and float64, on any device, without scipy.
"""

import math

import torch

__all__ = ["lambertw0"]

_E = math.e


def lambertw0(z, iterations=5):
    """Principal branch of Lambert W for ``z`` in ``[-1/e, 0]`` (values outside are clamped).

    Parameters
    ----------
    z : torch.Tensor
        Real arguments; clamped into ``[-1/e, 0]``.
    iterations : int
        Halley steps (5 reach float64 rounding from the start values used here).

    Returns
    -------
    torch.Tensor
        ``W_0(z)`` in ``[-1, 0]``, same shape, dtype and device as ``z``.
    """
    z = torch.clamp(z, min=-1.0 / _E, max=0.0)
    p = torch.sqrt(torch.clamp(2.0 * (_E * z + 1.0), min=0.0))
    series_branch = -1.0 + p * (1.0 + p * (-1.0 / 3.0 + p * (11.0 / 72.0 + p * (-43.0 / 540.0 + p * 769.0 / 17280.0))))
    series_zero = z * (1.0 + z * (-1.0 + 1.5 * z))
    w = torch.where(z < -0.25, series_branch, series_zero)
    for _ in range(iterations):
        ew = torch.exp(w)
        f = w * ew - z
        wp1 = w + 1.0
        safe = wp1.abs() > 1e-12
        wp1s = torch.where(safe, wp1, torch.ones_like(wp1))
        denom = ew * wp1s - (wp1s + 1.0) * f / (2.0 * wp1s)
        step = torch.where(safe & (denom != 0), f / torch.where(denom != 0, denom, torch.ones_like(denom)), torch.zeros_like(f))
        w = w - step
    w = torch.where(p < 1e-3, series_branch, w)
    return torch.clamp(w, min=-1.0, max=0.0)
