r"""Post-synaptic kernels of the current-based LIF neuron with exponential synapses, in closed form.

A neuron's membrane potential is a sum of kernels of its input spikes (ms, ``s = t - t_i > 0``):

* ``tau_mem == tau_syn == tau``:  ``K(s) = (s / tau) exp(-s / tau)``
* ``tau_mem == 2 tau_syn``:       ``K(s) = exp(-s / tau_mem) - exp(-s / tau_syn)``

Both are the solution of ``tau_mem dV/dt = -V + I``, ``tau_syn dI/dt = -I``, ``I += w`` at each input
(with ``V`` scaled by ``tau_syn / (tau_mem - tau_syn)`` in the second case, a factor of 1).

Prefix coefficients. For a set of inputs and a reference time ``r`` (ms) the potential is a function
of two sums over the inputs, ``P1`` and ``P2``:

* ratio 1, ``x_i = (t_i - r)/tau``, ``y = (t - r)/tau``:
  ``P1 = sum w_i e^{x_i}``, ``P2 = sum w_i x_i e^{x_i}``, ``V = e^{-y} (y P1 - P2)``
* ratio 2, ``x_i = (t_i - r)/tau_mem``, ``u = e^{-(t - r)/tau_mem}``:
  ``P1 = sum w_i e^{x_i}``, ``P2 = sum w_i e^{2 x_i}``, ``V = u P1 - u^2 P2``

so the per-input *features* ``(f1, f2)`` enter linearly and prefix sums are matrix products.
``V = threshold`` is then solved in closed form (Göltz et al. 2021, Nat. Mach. Intell. 3:823, eqs. 8-9):

* ratio 1: ``y* = P2/P1 - W_0(-(threshold/P1) exp(P2/P1))`` (Lambert W, principal branch);
* ratio 2: ``u* = (P1 + sqrt(P1^2 - 4 threshold P2)) / (2 P2)``, the larger root of a quadratic
  (written without the cancelling difference).

Gradients follow from the implicit function theorem at ``V(t*) = threshold``:
``dt*/dw_i = -K(t* - t_i) / V'(t*)``, ``dt*/dt_i = w_i K'(t* - t_i) / V'(t*)`` for causal inputs
(``t_i < t*``), zero otherwise. ``K`` and ``K'`` separate into ``f1, f2`` times functions of ``t*``,
which is what makes the backward pass GEMM-shaped (see :mod:`synsem_ephys.sim.ttfs`).
"""

import math
from dataclasses import dataclass

import torch

from ..spec import check_tau
from ..errors import SpecError
from .lambertw import lambertw0

__all__ = ["Kernel"]

_INF = float("inf")


def _safe(x, ok):
    """``x`` where ``ok`` else 1 (to keep a division or a log finite where its result is discarded)."""
    return torch.where(ok, x, torch.ones_like(x))


@dataclass(frozen=True)
class Kernel:
    """Closed-form toolkit of one neuron model. Times are ms, relative to a reference where stated."""

    tau_syn_ms: float
    tau_mem_ms: float
    threshold: float = 1.0

    def __post_init__(self):
        ratio = check_tau(self.tau_syn_ms, self.tau_mem_ms)
        th = float(self.threshold) if not isinstance(self.threshold, bool) else float("nan")
        if not (th > 0 and math.isfinite(th)):
            raise SpecError(f"threshold: expected a positive finite float; got {self.threshold!r}.")
        object.__setattr__(self, "ratio", ratio)
        object.__setattr__(self, "threshold", th)

    # the time constant in which features are exponentiated
    @property
    def tau_ms(self):
        return float(self.tau_syn_ms) if self.ratio == 1.0 else float(self.tau_mem_ms)

    @property
    def peak_time_ms(self):
        """Time after an input at which its kernel peaks."""
        if self.ratio == 1.0:
            return self.tau_ms
        return 2.0 * float(self.tau_syn_ms) * math.log(2.0)

    @property
    def feature_span_limit(self):
        """Largest exponent (in units of ``tau_ms``) the features reach; used for overflow checks."""
        return 1.0 if self.ratio == 1.0 else 2.0

    # ------------------------------------------------------------------ direct kernel
    def K(self, s):
        """Kernel at ``s`` ms after the input (0 for ``s <= 0``)."""
        pos = s > 0
        s = torch.where(pos, s, torch.zeros_like(s))
        if self.ratio == 1.0:
            x = s / self.tau_ms
            k = x * torch.exp(-x)
        else:
            k = torch.exp(-s / self.tau_mem_ms) - torch.exp(-s / self.tau_syn_ms)
        return torch.where(pos, k, torch.zeros_like(k))

    def Kprime(self, s):
        """d K / d s (1/ms) at ``s`` ms after the input (0 for ``s <= 0``)."""
        pos = s > 0
        s = torch.where(pos, s, torch.zeros_like(s))
        if self.ratio == 1.0:
            x = s / self.tau_ms
            k = (1.0 - x) * torch.exp(-x) / self.tau_ms
        else:
            k = -torch.exp(-s / self.tau_mem_ms) / self.tau_mem_ms + torch.exp(-s / self.tau_syn_ms) / self.tau_syn_ms
        return torch.where(pos, k, torch.zeros_like(k))

    def kmax_upto(self, d):
        """max of K on (0, d]: K is increasing up to its peak, constant bound after."""
        return self.K(torch.clamp(d, max=self.peak_time_ms))

    # ------------------------------------------------------------------ prefix form
    def features(self, rel):
        """Features ``(f1, f2)`` of inputs at ``rel`` ms after the reference (``rel`` finite)."""
        x = rel / self.tau_ms
        c = torch.exp(x)
        return (c, x * c) if self.ratio == 1.0 else (c, c * c)

    def shift(self, P1, P2, delta):
        """Coefficients for a reference moved ``delta`` ms later (``delta`` finite, >= 0)."""
        x = delta / self.tau_ms
        q = torch.exp(-x)
        if self.ratio == 1.0:
            return P1 * q, (P2 - x * P1) * q
        return P1 * q, P2 * (q * q)

    def value(self, P1, P2, y):
        """V at ``y`` ms after the reference (``y`` may be +inf: V = 0 there)."""
        fin = torch.isfinite(y)
        yy = torch.where(fin, y, torch.zeros_like(y)) / self.tau_ms
        if self.ratio == 1.0:
            v = torch.exp(-yy) * (yy * P1 - P2)
        else:
            u = torch.exp(-yy)
            v = u * P1 - u * u * P2
        return torch.where(fin, v, torch.zeros_like(v))

    def peak(self, P1, P2):
        """Time (ms after the reference, NaN if none) and value of the maximum of V."""
        if self.ratio == 1.0:
            ok = P1 > 0
            x = 1.0 + P2 / _safe(P1, ok)
            vp = P1 * torch.exp(-x)
            return torch.where(ok, x * self.tau_ms, torch.full_like(x, float("nan"))), vp
        ok = (P1 > 0) & (P2 > 0)
        up = P1 / (2.0 * _safe(P2, ok))
        y = -self.tau_ms * torch.log(_safe(up, ok))
        vp = P1 * P1 / (4.0 * _safe(P2, ok))
        return torch.where(ok, y, torch.full_like(y, float("nan"))), vp

    def interval_max(self, P1, P2, lo, hi):
        """max of V over [lo, hi] (ms after the reference; hi may be +inf).

        The direct form of the test that :meth:`reaches` makes without exponentials per neuron; kept
        as its reference (tests check that both agree).
        """
        vmax = torch.maximum(self.value(P1, P2, lo), self.value(P1, P2, hi))
        yp, vp = self.peak(P1, P2)
        inside = (yp >= lo) & (yp <= hi)
        return torch.where(inside, torch.maximum(vmax, vp), vmax)

    def interval_ends(self, lo, hi):
        """Neuron-independent quantities of intervals [lo, hi] (ms after the reference).

        ``lo`` or ``hi`` may be +inf (an interval with ``lo = inf`` never reaches threshold).
        Precomputed once per input so that :meth:`reaches` needs no exponential per neuron.
        Returns a tuple of tensors of the shape of ``lo``.
        """
        fin_h = torch.isfinite(hi)
        yh = torch.where(fin_h, hi, torch.zeros_like(hi)) / self.tau_ms
        eh = torch.where(fin_h, torch.exp(-yh), torch.zeros_like(yh))
        if self.ratio == 1.0:
            yh = torch.where(fin_h, yh, torch.full_like(yh, math.inf))
            return lo / self.tau_ms, yh, eh, torch.where(fin_h, yh * eh, torch.zeros_like(eh))
        return torch.exp(-lo / self.tau_ms), eh, eh * eh

    def reaches(self, P1, P2, ends, threshold=None):
        """Whether max of V over each interval reaches threshold, from :meth:`interval_ends`.

        Tests V at the right end and the analytic peak when it lies inside; V at the left end equals
        V at the previous interval's right end (V is continuous), so the first interval that reaches
        threshold is the one holding the first crossing. ``threshold`` (float or tensor) defaults
        to the neuron's.
        """
        th = self.threshold if threshold is None else threshold
        if self.ratio == 1.0:
            yl, yh, eh, yheh = ends
            hit = (yheh * P1).sub_(eh * P2) >= th
            # peak at y_p = (P1 + P2) / P1 (P1 > 0), inside iff yl * P1 <= P1 + P2 <= yh * P1
            s = P1 + P2
            inside = (P1 > 0) & (s >= yl * P1) & (s <= yh * P1)
            vp = P1 * torch.exp(-s / torch.where(P1 > 0, P1, torch.ones_like(P1)))
            return hit | (inside & (vp >= th))
        ul, uh, uh2 = ends
        hit = (uh * P1).sub_(uh2 * P2) >= th
        # peak at u_p = P1 / (2 P2), inside iff uh <= u_p <= ul; P1 > 0 and P1 <= 2 P2 ul imply P2 > 0
        P2x2 = P2 * 2.0
        inside = (P1 > 0) & (P1 >= P2x2 * uh) & (P1 <= P2x2 * ul)
        return hit | (inside & (P1 * P1 >= P2x2.mul_(2.0 * th)))

    def value_at_ref(self, P1, P2):
        """V at the reference time itself."""
        return -P2 if self.ratio == 1.0 else P1 - P2

    def solve(self, P1, P2, lo, hi):
        """First time (ms after the reference) in [lo, hi] where V reaches threshold.

        Call only where the interval is known to contain the crossing; the result is clamped to
        [lo, hi] (a crossing exactly at ``lo`` comes out as ``lo``).
        """
        th = self.threshold
        if self.ratio == 1.0:
            ok = P1 > 0
            P1s = _safe(P1, ok)
            m = P2 / P1s
            logz = math.log(th) - torch.log(P1s) + m
            z = -torch.exp(torch.clamp(logz, max=0.0))  # crossing implies z >= -1/e
            y = (m - lambertw0(z)) * self.tau_ms
            y = torch.where(ok, y, torch.full_like(y, -_INF))
        else:
            ok = P2 > 0
            D = torch.clamp(P1 * P1 - 4.0 * th * P2, min=0.0)
            u = (P1 + torch.sqrt(D)) / (2.0 * _safe(P2, ok))
            ok = ok & (u > 0)
            y = -self.tau_ms * torch.log(_safe(u, ok))
            y = torch.where(ok, y, torch.full_like(y, -_INF))
        return torch.minimum(torch.maximum(y, lo), hi)

    def vdot(self, P1, P2, y):
        """dV/dt (1/ms) at ``y`` ms after the reference."""
        x = y / self.tau_ms
        if self.ratio == 1.0:
            return torch.exp(-x) * (P1 * (1.0 - x) + P2) / self.tau_ms
        u = torch.exp(-x)
        return -u * (P1 - 2.0 * u * P2) / self.tau_ms

    def backward_coeffs(self, y, H):
        """Separable backward coefficients for inputs referenced ``y`` ms before the spike.

        With ``H = dL/dt* / V'(t*)`` returns ``(Q1, Q2, R1, R2)`` such that, for an input with
        features ``(f1, f2)`` and weight ``w``:
        ``dL/dw = Q1 f1 + Q2 f2`` and ``dL/dt_in = w (R1 f1 + R2 f2)``.
        """
        x = y / self.tau_ms
        if self.ratio == 1.0:
            ex = H * torch.exp(-x)
            return -ex * x, ex, ex * (1.0 - x) / self.tau_ms, ex / self.tau_ms
        u = torch.exp(-x)
        Hu = H * u
        Hu2 = Hu * u
        return -Hu, Hu2, -Hu / self.tau_ms, 2.0 * Hu2 / self.tau_ms
