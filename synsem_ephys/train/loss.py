"""Time-to-first-spike loss, prediction and accuracy (Göltz et al. 2021).

For output spike times ``t_k`` (ms) of one sample with label ``n``::

    p_k  = softmax_k( -t_k / (xi * tau_syn) )
    L    = -log p_n  +  alpha * exp( t_n / (beta * tau_syn) )

The cross-entropy pushes the label neuron to fire first and the others later (``xi`` sets how
much earlier counts as certain); the regulariser pulls the label neuron's spike towards early times,
which keeps activity from drifting late.  (Göltz et al. write the regulariser as
``alpha * (exp(...) - 1)``; the constant only shifts the value, not the gradient.)
Defaults: ``xi = 0.2``, ``alpha = 0.005``, ``beta = 1``.

Silent outputs (``t_k = +inf``) enter the loss as a large finite time::

    t_k -> T = max(t_no_spike_ms, max_j finite t_j + tau_syn)      (per sample, no gradient)

with ``t_no_spike_ms = 10 * tau_syn`` by default, so a silent output ranks after every spiking one,
a silent label neuron costs a large finite loss (``alpha * exp(10)`` plus the cross-entropy), and the
gradient is finite (zero for the silent entries, which carry no information about their weights).

The regulariser's exponent is capped at ``MAX_REG_EXPONENT = 50`` (a label spike later than
50 beta tau_syn, far outside any trained regime) so the loss stays finite in float32 too.

Prediction is the index of the earliest output spike (the first of equal times); a sample without
any output spike is predicted ``-1`` and counts as wrong.
"""

import math
import numbers

import numpy as np
import torch

from ..decision import predict
from ..errors import input_error

__all__ = ["DEFAULT_XI", "DEFAULT_ALPHA", "DEFAULT_BETA", "NO_SPIKE_TAUS", "MAX_REG_EXPONENT", "ttfs_loss", "replace_no_spike",
           "predict", "accuracy"]

DEFAULT_XI = 0.2
DEFAULT_ALPHA = 0.005
DEFAULT_BETA = 1.0
#: Default stand-in time of a silent output, in units of tau_syn.
NO_SPIKE_TAUS = 10.0
#: Cap of the regulariser's exponent t_label / (beta tau_syn), so float32 cannot overflow.
MAX_REG_EXPONENT = 50.0


def _pos(name, v):
    if not (isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) and v > 0):
        raise input_error(name, "a positive finite float", repr(v))


def replace_no_spike(t_out_ms, tau_syn_ms, t_no_spike_ms=None):
    """Replace ``+inf`` entries of ``t_out_ms`` (batch, n_out) by a per-sample large finite time.

    The stand-in is ``max(t_no_spike_ms, latest finite time of the sample + tau_syn_ms)`` and
    carries no gradient; finite entries pass through unchanged (with their gradient).
    """
    if t_no_spike_ms is None:
        t_no_spike_ms = NO_SPIKE_TAUS * tau_syn_ms
    inf = torch.isinf(t_out_ms)
    if not inf.any():
        return t_out_ms
    with torch.no_grad():
        finite_max = torch.where(inf, torch.full_like(t_out_ms, -math.inf), t_out_ms).amax(dim=1, keepdim=True)
        stand_in = torch.clamp(finite_max + tau_syn_ms, min=float(t_no_spike_ms)).expand_as(t_out_ms)
    return torch.where(inf, stand_in, t_out_ms)


def ttfs_loss(t_out_ms, labels, tau_syn_ms, xi=DEFAULT_XI, alpha=DEFAULT_ALPHA, beta=DEFAULT_BETA, *,
              t_no_spike_ms=None, reduction="mean"):
    """Cross-entropy over ``softmax(-t / (xi tau_syn))`` plus ``alpha exp(t_label / (beta tau_syn))``.

    Parameters
    ----------
    t_out_ms : torch.Tensor
        Output first-spike times (ms), shape ``(batch, n_out)``, ``+inf`` = no spike.
    labels : torch.Tensor or array_like of int
        Class of each sample, shape ``(batch,)``.
    tau_syn_ms : float
        Synaptic time constant (ms), the unit of ``xi`` and ``beta``.
    xi, alpha, beta : float
        Softmax temperature (units of tau_syn), regulariser weight (>= 0), regulariser time scale.
    t_no_spike_ms : float, optional
        Minimal stand-in time of a silent output (default ``10 * tau_syn_ms``).
    reduction : {"mean", "sum", "none"}
        Mean or sum over the batch, or the per-sample losses.

    Returns
    -------
    torch.Tensor
        Scalar (or ``(batch,)`` for ``reduction="none"``), always finite.
    """
    _pos("tau_syn_ms", tau_syn_ms)
    _pos("xi", xi)
    _pos("beta", beta)
    if not (isinstance(alpha, numbers.Real) and math.isfinite(alpha) and alpha >= 0):
        raise input_error("alpha", "a non-negative finite float", repr(alpha))
    if t_no_spike_ms is not None:
        _pos("t_no_spike_ms", t_no_spike_ms)
    if reduction not in ("mean", "sum", "none"):
        raise input_error("reduction", "one of 'mean', 'sum', 'none'", repr(reduction))
    if not isinstance(t_out_ms, torch.Tensor) or t_out_ms.ndim != 2 or not torch.is_floating_point(t_out_ms):
        got = f"{type(t_out_ms).__name__} of shape {tuple(getattr(t_out_ms, 'shape', ()))}"
        raise input_error("t_out_ms", "a floating torch.Tensor of shape (batch, n_out)", got)
    labels = torch.as_tensor(labels, device=t_out_ms.device).long()
    if labels.shape != t_out_ms.shape[:1]:
        raise input_error("labels", f"shape ({t_out_ms.shape[0]},), one label per sample", tuple(labels.shape))
    if labels.numel() and (labels.min() < 0 or labels.max() >= t_out_ms.shape[1]):
        raise input_error("labels", f"values in 0..{t_out_ms.shape[1] - 1}",
                          f"range [{int(labels.min())}, {int(labels.max())}]")
    if torch.isnan(t_out_ms).any():
        raise input_error("t_out_ms", "spike times or +inf", "NaN entries",
                          "NaN comes from the simulator or from the inputs; check them before the loss.")
    t = replace_no_spike(t_out_ms, tau_syn_ms, t_no_spike_ms)
    logp = torch.log_softmax(-t / (xi * tau_syn_ms), dim=1)
    t_label = t.gather(1, labels[:, None])[:, 0]
    reg_exponent = torch.clamp(t_label / (beta * tau_syn_ms), max=MAX_REG_EXPONENT)
    per_sample = -logp.gather(1, labels[:, None])[:, 0] + alpha * torch.exp(reg_exponent)
    if reduction == "mean":
        return per_sample.mean()
    if reduction == "sum":
        return per_sample.sum()
    return per_sample


def accuracy(t_out, labels):
    """Fraction of samples whose earliest output spike is the label; no spike counts as wrong."""
    pred = predict(t_out)
    if isinstance(pred, torch.Tensor):
        labels = torch.as_tensor(labels, device=pred.device)
        return float((pred == labels).double().mean()) if pred.numel() else float("nan")
    labels = np.asarray(labels)
    return float(np.mean(pred == labels)) if pred.size else float("nan")
