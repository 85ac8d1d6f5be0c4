"""Perturbations of input spike trains at test time: jitter, deletion and insertion of spikes (seeded).

One spike per input unit (the latency code), ``+inf`` = no spike. Strengths, per finite time ``t_i``:

* **jitter** (SD ``sd`` in units of ``tau_syn``): ``t_i <- max(0, t_i + eps)``, ``eps ~ N(0, (sd tau_syn)^2)``,
  on finite times only (:func:`synsem_ephys.encoding.jitter_times`);
* **deletion** (probability ``p``): each finite spike becomes ``+inf`` with probability ``p``;
* **insertion** (probability ``p``, one spike per unit): each unit with probability ``p`` draws
  ``u ~ U(0, t_late tau_syn)`` and takes ``t_i <- min(t_i, u)``: a silent unit starts to spike, an active
  one may spike earlier.

Randomness: a ``numpy.random.Generator`` or an int seed (``numpy.random.default_rng(seed)``). Every
draw covers the whole array, so the noise of an entry does not depend on which entries are finite. A
strength of 0 returns an unchanged copy.

numpy arrays give float64 numpy; torch tensors give a tensor of the same dtype and device (the noise is
drawn by numpy, so the same seed perturbs a tensor and its array alike); torch is imported only when a
tensor is passed.
"""

import math
import numbers

import numpy as np

from .encoding import DEFAULT_T_LATE, jitter_times
from .errors import input_error

__all__ = ["KINDS", "jitter", "delete", "insert", "perturb", "as_generator"]

#: The perturbation kinds of :func:`perturb`, with the meaning of their strength.
KINDS = {"jitter": "SD in units of tau_syn", "deletion": "probability per spike", "insertion": "probability per unit"}


def _is_torch(x):
    return type(x).__module__.startswith("torch")


def as_generator(rng):
    """A ``numpy.random.Generator`` from a Generator (returned as is) or a non-negative int seed."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise input_error("rng", "a numpy.random.Generator or a non-negative int seed", type(rng).__name__,
                      "Use numpy.random.default_rng(seed) or pass the seed.")


def _to_numpy(times_ms):
    if _is_torch(times_ms):
        return times_ms.detach().cpu().numpy().astype(np.float64), times_ms
    return np.array(times_ms, dtype=np.float64), None


def _back(t, like):
    if like is None:
        return t
    import torch

    return torch.as_tensor(t, dtype=like.dtype, device=like.device)


def _prob(name, p):
    if not (isinstance(p, numbers.Real) and not isinstance(p, bool) and 0 <= p <= 1):
        raise input_error(name, "a probability in [0, 1]", repr(p))
    return float(p)


def _positive(name, v):
    if not (isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) and v > 0):
        raise input_error(name, "a positive finite float", repr(v))
    return float(v)


def jitter(times_ms, sd, *, tau_syn_ms, rng):
    """Gaussian jitter of SD ``sd * tau_syn_ms`` on the finite times, clipped at 0 (see the module docstring)."""
    if not (isinstance(sd, numbers.Real) and not isinstance(sd, bool) and math.isfinite(sd) and sd >= 0):
        raise input_error("sd", "a non-negative finite float (units of tau_syn)", repr(sd))
    tau = _positive("tau_syn_ms", tau_syn_ms)
    g = as_generator(rng)
    t, like = _to_numpy(times_ms)
    return _back(t if sd == 0 else jitter_times(t, float(sd) * tau, g), like)


def delete(times_ms, p, *, rng):
    """Each finite spike set to ``+inf`` with probability ``p``."""
    p = _prob("p", p)
    g = as_generator(rng)
    t, like = _to_numpy(times_ms)
    if p > 0:
        t = np.where(g.random(t.shape) < p, np.inf, t)
    return _back(t, like)


def insert(times_ms, p, *, tau_syn_ms, t_late=DEFAULT_T_LATE, rng):
    """Each unit with probability ``p``: ``t <- min(t, u)``, ``u ~ U(0, t_late tau_syn)``."""
    p = _prob("p", p)
    span = _positive("t_late", t_late) * _positive("tau_syn_ms", tau_syn_ms)
    g = as_generator(rng)
    t, like = _to_numpy(times_ms)
    if p > 0:
        hit = g.random(t.shape) < p
        u = g.uniform(0.0, span, size=t.shape)
        t = np.where(hit, np.minimum(t, u), t)
    return _back(t, like)


def perturb(times_ms, kind, strength, *, tau_syn_ms, t_late=DEFAULT_T_LATE, rng):
    """Apply the perturbation ``kind`` (a key of :data:`KINDS`) of strength ``strength`` to ``times_ms``.

    Parameters
    ----------
    times_ms : numpy.ndarray or torch.Tensor
        Input spike times (ms), any shape, ``+inf`` = no spike.
    kind : {"jitter", "deletion", "insertion"}
    strength : float
        Jitter SD in units of ``tau_syn_ms``, or the deletion / insertion probability.
    tau_syn_ms : float
        The unit of the jitter SD and of ``t_late``.
    t_late : float
        Insertion: the latest inserted time in units of ``tau_syn_ms`` (the latency code's ``t_late``).
    rng : numpy.random.Generator or int

    Returns
    -------
    Same type as ``times_ms``.
    """
    if kind == "jitter":
        return jitter(times_ms, strength, tau_syn_ms=tau_syn_ms, rng=rng)
    if kind == "deletion":
        return delete(times_ms, strength, rng=rng)
    if kind == "insertion":
        return insert(times_ms, strength, tau_syn_ms=tau_syn_ms, t_late=t_late, rng=rng)
    raise input_error("kind", f"one of {list(KINDS)}", repr(kind))
