r"""Spike-synchrony-dependent plasticity (SSDP, Tian et al. 2025) for time-to-first-spike layers.

A local weight update from the spike times of one mini-batch, added after the optimiser step (the
re-implementation of the rule from its equations, see docs and ``/work/shared/specs/seed003-ssdp.md``;
no code of the authors' is used). For a weight matrix ``W`` (n_pre, n_post) and samples ``b = 1..B``::

    s_i = 1[t_i < inf],  r_j = 1[T_j < inf],  S_ij = s_i r_j          (both fired: "synchronous")
    t~ = t if finite else t_sentinel                                   (stand-in for "no spike")
    D_ij = | T~_j - (t~_i + d_ij) |                                    (d: delays, 0 without)
    G_ij = exp(-D_ij^2 / (2 sigma^2))
    dW_ij = clip_[-1, 1]( mean_b [ A+ S G - A_base (1 - S) G ] ) * m_ij    (m: the synapse mask)

Variants (``variant=``):

* ``"faithful"``: as above, ``t_sentinel`` = the loss's no-spike time (``NO_SPIKE_TAUS * tau_syn``), so a
  co-silent pair has ``D = 0``, ``G = 1`` and is depressed by exactly ``A_base``;
* ``"no_silent"``: ``t_sentinel = +inf``: a pair with a silent unit gets ``G = 0`` (no update);
* ``"causal"``: as faithful, but potentiation only where ``t_i + d_ij <= T_j`` (the pre spike arrived first);
* ``"sign_aware"``: as faithful, but applied as ``W += sign_i dW`` with the presynaptic Dale sign (``+1``
  for unconstrained rows), so E and I magnitudes are strengthened alike instead of the signed add.

:func:`ssdp_update` returns ``dW`` already multiplied by the sign for ``sign_aware`` (the increment to add).

In training (:class:`SSDP`, used by :class:`~synsem_ephys.train.trainer.Trainer` after ``optimizer.step()``
and before Dale's clamp), the amplitudes follow the epoch ``e`` (0-based) from the start epoch ``e0`` to
the schedule's end ``E`` (``ssdp_end_epoch``, by default the run's ``epochs``)::

    c(e)      = 0.5 + 0.25 (1 + cos(pi (e - e0) / (E - e0)))              (1 at e0, falling to 0.5 at E; 0.5 after E)
    A+(e)     = a_plus * std(W_l at the start of epoch e0) * c(e),   A_base(e) = base_ratio * A+(e)
    sigma     = sigma_tau * tau_syn                                        (fixed)

``std`` is the sample SD (``ddof = 1``) of all entries of ``W_l``; it is taken once and checkpointed, and so are
the resolved ``e0`` and ``E``: a run resumed with a raised ``epochs`` keeps the schedule it began with (and holds
``c = 0.5`` after its end), so it equals an uninterrupted run of the new length with ``ssdp_end_epoch`` (and
``ssdp_start_epoch``) set to the values the first run resolved.
Cost: O(B n_pre n_post) per targeted layer (the batch is processed in chunks to bound memory).

Both numpy arrays and torch tensors are accepted by :func:`ssdp_update` (torch only when given tensors).
"""

import math
import numbers

import numpy as np

from ..errors import input_error

__all__ = ["VARIANTS", "ssdp_update", "cosine_factor", "ssdp_amplitudes", "start_epoch", "SSDP"]

#: The variants of the rule (see the module docstring).
VARIANTS = ("faithful", "no_silent", "causal", "sign_aware")
#: Largest number of (sample, pre, post) entries held at once by :func:`ssdp_update`.
_CHUNK_ENTRIES = 1 << 22


def _is_torch(x):
    return type(x).__module__.startswith("torch")


def _real(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _check_scalars(a_plus, a_base, sigma_ms, variant, t_sentinel_ms):
    for name, v in (("a_plus", a_plus), ("a_base", a_base)):
        if not (_real(v) and math.isfinite(v) and v >= 0):
            raise input_error(name, "a non-negative finite float (weight units)", repr(v))
    if not (_real(sigma_ms) and math.isfinite(sigma_ms) and sigma_ms > 0):
        raise input_error("sigma_ms", "a positive finite float (ms)", repr(sigma_ms))
    if variant not in VARIANTS:
        raise input_error("variant", f"one of {list(VARIANTS)}", repr(variant))
    if variant != "no_silent" and not (_real(t_sentinel_ms) and math.isfinite(t_sentinel_ms) and t_sentinel_ms >= 0):
        raise input_error("t_sentinel_ms", f"a non-negative finite float (ms) for variant {variant!r}", repr(t_sentinel_ms),
                          "Pass the loss's no-spike time, NO_SPIKE_TAUS * tau_syn_ms.")


def ssdp_update(t_pre, t_post, *, a_plus, a_base, sigma_ms, variant="faithful", t_sentinel_ms=None, delays_ms=None,
                signs=None, mask=None):
    """The SSDP increment ``dW`` (n_pre, n_post) of one mini-batch (see the module docstring).

    Parameters
    ----------
    t_pre : numpy.ndarray or torch.Tensor, shape (B, n_pre)
        Presynaptic first-spike times (ms), ``+inf`` = no spike.
    t_post : same type, shape (B, n_post)
        Postsynaptic first-spike times (ms).
    a_plus, a_base : float
        Potentiation amplitude of synchronous pairs and depression amplitude of the others (weight units).
    sigma_ms : float
        Width of the Gaussian latency window (ms).
    variant : {"faithful", "no_silent", "causal", "sign_aware"}
    t_sentinel_ms : float
        Stand-in time of a silent unit (required except for ``"no_silent"``, which uses ``+inf``); the
        trainer passes the loss's no-spike time ``NO_SPIKE_TAUS * tau_syn_ms``.
    delays_ms : array of shape (n_pre, n_post), optional
        Delays ``d_ij`` (0 without); (n_pre, 1) axonal and (1, n_post) dendritic delays broadcast.
    signs : array of shape (n_pre,), optional
        Presynaptic Dale signs (+1 E, -1 I, 0 free); used by ``"sign_aware"`` only (0 counts as +1).
    mask : array of shape (n_pre, n_post) (or broadcastable like ``delays_ms``), optional
        1 for existing synapses, 0 for dormant ones (their increment is 0).

    Returns
    -------
    Same type as ``t_pre`` (float64 numpy, or a tensor of ``t_pre``'s dtype and device), shape (n_pre, n_post).
    """
    if variant == "no_silent":
        t_sentinel_ms = math.inf
    _check_scalars(a_plus, a_base, sigma_ms, variant, t_sentinel_ms)
    torchy = _is_torch(t_pre)
    if torchy:
        import torch

        if not _is_torch(t_post):
            raise input_error("t_post", "a torch.Tensor like t_pre", type(t_post).__name__)
        xp = _TorchOps(torch, t_pre.dtype, t_pre.device)
        t_post = t_post.to(dtype=t_pre.dtype, device=t_pre.device)
    else:
        xp = _NumpyOps()
        t_pre, t_post = np.asarray(t_pre, dtype=np.float64), np.asarray(t_post, dtype=np.float64)
    if t_pre.ndim != 2 or t_post.ndim != 2 or t_pre.shape[0] != t_post.shape[0]:
        raise input_error("t_pre, t_post", "arrays (B, n_pre) and (B, n_post) with the same B",
                          f"shapes {tuple(t_pre.shape)} and {tuple(t_post.shape)}")
    n_b, n_pre = t_pre.shape
    n_post = t_post.shape[1]
    d = None if delays_ms is None else xp.asarray(delays_ms)
    m = None if mask is None else xp.asarray(mask)
    for name, a in (("delays_ms", d), ("mask", m)):
        if a is not None and (a.ndim != 2 or any(k not in (1, n) for k, n in zip(a.shape, (n_pre, n_post)))):
            raise input_error(name, f"shape ({n_pre}, {n_post}), or (n_pre, 1) / (1, n_post) to broadcast",
                              tuple(a.shape))
    if n_b == 0:
        raise input_error("t_pre", "at least one sample (B >= 1)", "B = 0")
    s_pre, s_post = xp.isfinite(t_pre), xp.isfinite(t_post)
    sent = float(t_sentinel_ms)
    tp = xp.where(s_pre, t_pre, sent)
    tq = xp.where(s_post, t_post, sent)
    total = xp.zeros((n_pre, n_post))
    two_var = 2.0 * float(sigma_ms) ** 2
    step = max(1, _CHUNK_ENTRIES // max(1, n_pre * n_post))
    for lo in range(0, n_b, step):
        a = tp[lo:lo + step, :, None] + (0.0 if d is None else d[None])      # arrival t~_i + d_ij
        with np.errstate(invalid="ignore"):  # no_silent: inf - inf, handled below
            diff = tq[lo:lo + step, None, :] - a                            # T~_j - arrival
        if math.isinf(sent):  # no_silent: silent pairs give inf - inf = nan; their G is 0
            diff = xp.where(xp.isnan(diff), math.inf, diff)
        g = xp.exp(-(diff * diff) / two_var)
        sync = s_pre[lo:lo + step, :, None] & s_post[lo:lo + step, None, :]
        pot = sync & (diff >= 0) if variant == "causal" else sync
        total = total + (xp.where(pot, a_plus * g, 0.0) - xp.where(sync, 0.0, a_base * g)).sum(0)
    dw = xp.clip(total / n_b, -1.0, 1.0)
    if m is not None:
        dw = dw * m
    if variant == "sign_aware" and signs is not None:
        s = xp.asarray(signs)
        if tuple(s.shape) != (n_pre,):
            raise input_error("signs", f"shape ({n_pre},)", tuple(s.shape))
        dw = dw * xp.where(s < 0, -1.0, 1.0)[:, None]
    return dw


class _NumpyOps:
    def asarray(self, a):
        return np.asarray(a.detach().cpu().numpy() if _is_torch(a) else a, dtype=np.float64)

    isfinite, isnan, exp, where = staticmethod(np.isfinite), staticmethod(np.isnan), staticmethod(np.exp), staticmethod(np.where)

    @staticmethod
    def zeros(shape):
        return np.zeros(shape)

    @staticmethod
    def clip(x, lo, hi):
        return np.clip(x, lo, hi)


class _TorchOps:
    def __init__(self, torch, dtype, device):
        self.torch, self.dtype, self.device = torch, dtype, device
        self.isfinite, self.isnan, self.exp = torch.isfinite, torch.isnan, torch.exp

    def asarray(self, a):
        return self.torch.as_tensor(a, dtype=self.dtype, device=self.device)

    def where(self, c, x, y):
        t = self.torch
        x = x if isinstance(x, t.Tensor) else t.tensor(float(x), dtype=self.dtype, device=self.device)
        y = y if isinstance(y, t.Tensor) else t.tensor(float(y), dtype=self.dtype, device=self.device)
        return t.where(c, x, y)

    def zeros(self, shape):
        return self.torch.zeros(shape, dtype=self.dtype, device=self.device)

    def clip(self, x, lo, hi):
        return x.clamp(lo, hi)


# ----------------------------------------------------------------------------------- schedule
def cosine_factor(epoch, start, end):
    """``c(e) = 0.5 + 0.25 (1 + cos(pi (e - start) / (end - start)))`` for ``start <= e <= end``, 0.5 after ``end``;
    1 if ``end <= start``."""
    if end <= start:
        return 1.0
    return 0.5 + 0.25 * (1.0 + math.cos(math.pi * (min(epoch, end) - start) / (end - start)))


def start_epoch(configured, epochs):
    """The start epoch ``e0``: the configured one, or ``max(1, round(0.1 * epochs))`` when None."""
    return max(1, int(round(0.1 * epochs))) if configured is None else int(configured)


def ssdp_amplitudes(a_plus, base_ratio, ref_std, epoch, start, end):
    """``(A+, A_base)`` of epoch ``epoch`` (0-based) for a layer whose weights had SD ``ref_std`` at ``start``."""
    ap = float(a_plus) * float(ref_std) * cosine_factor(epoch, start, end)
    return ap, float(base_ratio) * ap


class SSDP:
    """SSDP as a post-step of the trainer: which layers, the amplitude schedule, its checkpointed state.

    Parameters
    ----------
    config : TrainConfig
        Reads ``ssdp_variant`` (not None), ``ssdp_a_plus``, ``ssdp_base_ratio``, ``ssdp_sigma_tau``,
        ``ssdp_start_epoch``, ``ssdp_end_epoch``, ``ssdp_layers``, ``epochs`` and ``tau_syn_ms``.
    n_matrices : int
        Weight matrices of the network (``ssdp_layers`` may be negative, as Python indices).

    The trainer calls :meth:`begin_epoch` before each epoch, :meth:`apply_` after each optimiser step,
    :meth:`end_epoch` for the epoch's statistics, and keeps :meth:`state` in its checkpoint.
    """

    def __init__(self, config, n_matrices):
        from .loss import NO_SPIKE_TAUS

        c = config
        self.variant, self.a_plus, self.base_ratio = c.ssdp_variant, c.ssdp_a_plus, c.ssdp_base_ratio
        self.sigma_ms = c.ssdp_sigma_tau * c.tau_syn_ms
        self.t_sentinel_ms = NO_SPIKE_TAUS * c.tau_syn_ms
        self.start = start_epoch(c.ssdp_start_epoch, c.epochs)
        end = getattr(c, "ssdp_end_epoch", None)
        self.end = int(c.epochs) if end is None else int(end)
        layers = []
        for l in c.ssdp_layers:
            if not -n_matrices <= l < n_matrices:
                raise input_error("config key 'ssdp_layers'", f"indices of the {n_matrices} weight matrices "
                                  f"(-{n_matrices}..{n_matrices - 1})", list(c.ssdp_layers))
            layers.append(l % n_matrices)
        self.layers = tuple(sorted(set(layers)))
        self.ref_std = None  # {layer: SD of W_l at the start epoch}, set once
        self.amplitudes = {}
        self.active = False
        self._stats = []

    def begin_epoch(self, epoch, weights):
        """Set this epoch's amplitudes (0 before the start epoch); take the reference SD at the start epoch."""
        self.active = epoch >= self.start
        self._stats = []
        if not self.active:
            return
        if self.ref_std is None:
            self.ref_std = {l: float(weights[l].detach().std()) for l in self.layers}
        self.amplitudes = {l: ssdp_amplitudes(self.a_plus, self.base_ratio, self.ref_std[l], epoch, self.start, self.end)
                           for l in self.layers}

    def apply_(self, network, t_in, outs, masks=None):
        """``W_l += dW_l`` for the targeted layers from the batch's spikes (in place, no Dale clamp).

        ``masks``: one (n_pre, n_post) 0/1 or bool tensor per weight matrix (the rewiring's active synapses), or
        None for dense matrices; dormant synapses get no update.
        """
        import torch

        if not self.active:
            return
        with torch.no_grad():
            for l in self.layers:
                W = network.weights[l]
                pre = (t_in if l == 0 else outs[l - 1]).detach()
                post = outs[l].detach()
                ap, ab = self.amplitudes[l]
                d = network.delays_ms(l) if hasattr(network, "delays_ms") else None
                dw = ssdp_update(pre, post, a_plus=ap, a_base=ab, sigma_ms=self.sigma_ms, variant=self.variant,
                                 t_sentinel_ms=self.t_sentinel_ms, signs=network.sign(l),
                                 delays_ms=None if d is None else d.detach(), mask=None if masks is None else masks[l])
                W.add_(dw.to(W.dtype))
                sync = (torch.isfinite(pre).double().mean(1) * torch.isfinite(post).double().mean(1)).mean()
                self._stats.append((l, float(sync), float(dw.norm() / W.norm().clamp_min(1e-300))))

    def end_epoch(self):
        """This epoch's statistics: per layer ``{"a_plus", "a_base", "sync", "dw_rel"}`` (means over batches), or None.

        ``sync`` is the mean of ``S`` over the batch's (sample, pre, post) triples (the fraction of pairs that
        both fired), ``dw_rel`` is ``||dW|| / ||W||`` after the update.
        """
        if not self.active:
            return None
        out = {}
        for l in self.layers:
            rows = [(s, r) for k, s, r in self._stats if k == l]
            ap, ab = self.amplitudes[l]
            out[str(l)] = {"a_plus": ap, "a_base": ab, "sync": float(np.mean([s for s, _ in rows])) if rows else math.nan,
                           "dw_rel": float(np.mean([r for _, r in rows])) if rows else math.nan}
        return out

    def state(self):
        """JSON-able state for the checkpoint (the reference SDs, the resolved start and end epochs)."""
        return {"ref_std": None if self.ref_std is None else {str(l): v for l, v in self.ref_std.items()},
                "start_epoch": self.start, "end_epoch": self.end}

    def load_state(self, state):
        """Restore :meth:`state` (None or a missing entry: the reference SD is taken at the start epoch, and the
        schedule is resolved from the config, as in checkpoints written before the epochs were stored)."""
        ref = None if not state else state.get("ref_std")
        self.ref_std = None if ref is None else {int(l): float(v) for l, v in ref.items()}
        if state and state.get("start_epoch") is not None:
            self.start = int(state["start_epoch"])
        if state and state.get("end_epoch") is not None:
            self.end = int(state["end_epoch"])
