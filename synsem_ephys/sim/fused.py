"""The fused exact backend of :func:`~synsem_ephys.sim.spike_times`: one scan per (sample, neuron), numba on CPU.

The kernels and their equations are in :mod:`._fused_numba`; this module is the torch side: it calls the
forward kernel (parallel over samples, ``torch.get_num_threads()`` threads; each sample's finite inputs
are sorted inside, in (time, index) order) and wraps it in an autograd Function whose backward calls the
backward kernel with the saved sorted inputs.

Sorted hand-off: the kernel finds spikes interval by interval, so it also writes each sample's output
spikes in (time, index) order (one insertion pass). The output tensor carries them
(``_synsem_sorted``, with the tensor's version counter); the next layer, given that very tensor
unchanged, uses them instead of sorting (~1.2x faster forward on MNIST 784-4x400-10). Any other tensor,
or one changed in place, is sorted as usual; the order is the same either way, so are the bits.

Per-synapse delays (``delays_ms`` of shape (n_in, n_out) with unequal columns): every (sample, neuron) has its
own order of arrivals ``t_i + d_in``, sorted per (sample, neuron) (buckets and an insertion pass, a comparison
sort where they cluster) and scanned alone (:func:`fused_synaptic_spike_times`;
per thread three n_in scratch vectors; the backward one float64 n_in x n_out buffer per thread for ``dL/dW`` and
one for ``dL/dD``; one exponential per causal pair). No sorted hand-off there.

Memory: the sorted inputs (B x n_in times and int64 indices), the outputs (B x n_out times, ``V'(t*)``
in float64, the crossing index) and their sorted copy (B x n_out times and indices, kept with the output
tensor), per thread three n_out scratch vectors; the backward adds one float64 n_in x n_out ``dL/dW``
buffer per thread and a float64 B x n_in ``dL/dt``. Nothing of size n_in x n_out x anything.

Precision: float32 inputs are scanned with a float64 state (the coefficients, the threshold tests and
the closed-form solve) and rounded once at the end, so float32 spike times are the float64 ones to
float32 rounding (``_STATE_DTYPE`` selects the state's dtype; float32 there is only for measuring what
the float64 state costs). numba is optional: :func:`available` says whether it imports.
"""

import math

import numpy as np
import torch

__all__ = ["available", "fused_spike_times", "fused_synaptic_spike_times"]

_AVAILABLE = None
_K = None
#: arithmetic dtype of the forward state per input dtype (speed vs exactness; see the module docstring)
_STATE_DTYPE = {torch.float64: np.float64, torch.float32: np.float64}


def available():
    """Whether the numba backend can run (numba imports; checked once, on first use)."""
    global _AVAILABLE
    if _AVAILABLE is None:
        try:
            _kernels()
            _AVAILABLE = True
        except ImportError:
            _AVAILABLE = False
    return _AVAILABLE


def _kernels():
    global _K
    if _K is None:
        from . import _fused_numba

        _K = _fused_numba
    return _K


def _threads():
    import numba

    n = max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS))
    if numba.get_num_threads() != n:
        numba.set_num_threads(n)
    return n


def _np(x):
    return x.detach().numpy()


def _np64(x):
    """``x`` as a C-contiguous float64 numpy array (float32 values exactly)."""
    return _np(x.detach().to(torch.float64).contiguous())


def _handoff(t, sd):
    """The sorted inputs the layer that computed ``t`` left on it, if ``t`` is unchanged since: (ts, order, nfin)."""
    h = getattr(t, "_synsem_sorted", None)
    if h is None or h[0] != t._version or h[1].dtype != sd or tuple(h[1].shape) != tuple(t.shape):
        return None
    return h[1:]


def forward_arrays(t, W, kern, state_dtype=None):
    """Run the forward kernel: ``(t_out, vdot, kstar, ts, order, out_sorted)`` (CPU tensors; ``t_out`` and
    ``ts`` in the state dtype, float64 unless measuring; ``vdot`` float64; ``kstar``, ``order`` int64;
    ``out_sorted`` = (times, indices, counts) of the outputs in (time, index) order, for the next layer)."""
    K = _kernels()
    _threads()
    B, n_in, n_out = t.shape[0], t.shape[1], W.shape[1]
    sd = torch.float64 if (state_dtype or _STATE_DTYPE[t.dtype]) is np.float64 else torch.float32
    tc = t.detach().to(sd).contiguous()
    Wc = W.detach().to(sd).contiguous()
    t_out = torch.empty((B, n_out), dtype=sd)
    vdot = torch.empty((B, n_out), dtype=torch.float64)
    kstar = torch.empty((B, n_out), dtype=torch.int64)
    given = _handoff(t, sd)
    if given is not None:
        ts, order, nfin = given
    else:
        ts = torch.empty((B, n_in), dtype=sd)
        order = torch.empty((B, n_in), dtype=torch.int64)
        nfin = torch.empty(B, dtype=torch.int64)
    out_sorted = (torch.empty((B, n_out), dtype=sd), torch.empty((B, n_out), dtype=torch.int64),
                  torch.empty(B, dtype=torch.int64))
    if B and n_out and n_in:
        K.forward(_np(tc), _np(Wc), kern.ratio == 2.0, K.params(kern.tau_ms, kern.threshold, _np(tc).dtype),
                  given is not None, t.dtype == torch.float32 and sd == torch.float64,
                  _np(t_out), _np(vdot), _np(kstar), _np(ts), _np(order), _np(nfin), *(_np(x) for x in out_sorted))
    else:
        t_out.fill_(math.inf)
        vdot.zero_()
        kstar.fill_(-1)
        if given is None:
            ts.fill_(math.inf)
            order.fill_(-1)
            nfin.zero_()
        out_sorted[0].fill_(math.inf)
        out_sorted[1].fill_(-1)
        out_sorted[2].zero_()
    return t_out, vdot, kstar, ts, order, out_sorted


def backward_arrays(grad, W, kern, t_out, vdot, kstar, ts, order, n_in, need_t, need_w):
    """Run the backward kernel: ``(dL/dt_in or None, dL/dW or None)`` in the dtype of ``W``."""
    K = _kernels()
    nt = _threads()
    B, n_out = t_out.shape
    g = grad.detach().to(torch.float64).contiguous()
    gW_buf = np.zeros((nt, n_in, n_out) if need_w else (1, 1, 1))
    gt = np.zeros((B, n_in) if need_t else (1, 1))
    tiny = float(torch.finfo(W.dtype).tiny) ** 0.5
    if B and n_out:
        K.backward(_np(g), _np(ts), _np(order), _np(W.detach().to(ts.dtype).contiguous()), _np(t_out), _np(vdot),
                   _np(kstar),
                   kern.ratio == 2.0, float(kern.tau_ms), tiny, bool(need_t), bool(need_w), gW_buf, gt)
    gti = torch.from_numpy(gt).to(W.dtype) if need_t else None
    gWi = torch.from_numpy(gW_buf.sum(axis=0) if nt > 1 else gW_buf[0]).to(W.dtype) if need_w else None
    return gti, gWi


class _FusedSpikeTimes(torch.autograd.Function):
    @staticmethod
    def forward(ctx, t, W, kern):
        t_out, vdot, kstar, ts, order, out_sorted = forward_arrays(t, W, kern)
        ctx.save_for_backward(W, t_out, vdot, kstar, ts, order)
        ctx.kern, ctx.n_in = kern, t.shape[1]
        res = t_out.to(t.dtype)
        res._synsem_sorted = (res._version,) + out_sorted  # the next layer's sorted inputs (see _handoff)
        return res

    @staticmethod
    def backward(ctx, grad):
        W, t_out, vdot, kstar, ts, order = ctx.saved_tensors
        need_t, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        gt, gW = backward_arrays(grad, W, ctx.kern, t_out, vdot, kstar, ts, order, ctx.n_in, need_t, need_w)
        return gt, gW, None


def fused_spike_times(t, W, kern):
    """Exact first-spike times (B, n_out) of one layer by the fused kernels; differentiable in ``t`` and ``W``.

    ``t`` (B, n_in) and ``W`` (n_in, n_out): validated CPU tensors of one dtype (see :func:`spike_times`).
    """
    return _FusedSpikeTimes.apply(t, W, kern)


# ---------------------------------------------------------------------------------------------- per-synapse delays
def synaptic_forward_arrays(t, W, D, kern):
    """Run the per-synapse-delay forward kernel: ``(t_out, vdot)``, float64 (B, n_out) (see
    :func:`._fused_numba.forward_synaptic`); the inputs are read as float64 (float32 ones exactly)."""
    K = _kernels()
    _threads()
    B, n_out = t.shape[0], W.shape[1]
    t_out = torch.full((B, n_out), math.inf, dtype=torch.float64)
    vdot = torch.zeros((B, n_out), dtype=torch.float64)
    if B and n_out and t.shape[1]:
        K.forward_synaptic(_np64(t), _np64(W.t()), _np64(D.expand(W.shape).t()), kern.ratio == 2.0,
                           float(kern.tau_ms), float(kern.threshold), _np(t_out), _np(vdot))
    return t_out, vdot


def synaptic_backward_arrays(grad, t, W, D, t_out, vdot, kern, need_t, need_w, need_d):
    """Run the per-synapse-delay backward kernel: ``(dL/dt or None, dL/dW or None, dL/dD or None)`` in the dtype
    of ``W`` (``dL/dD`` of shape (n_in, n_out))."""
    K = _kernels()
    nt = _threads()
    B, n_in = t.shape
    n_out = W.shape[1]
    gW_buf = np.zeros((nt, n_in, n_out) if need_w else (1, 1, 1))
    gD_buf = np.zeros((nt, n_in, n_out) if need_d else (1, 1, 1))
    gt = np.zeros((B, n_in) if need_t else (1, 1))
    tiny = float(torch.finfo(W.dtype).tiny) ** 0.5
    if B and n_out and n_in:
        K.backward_synaptic(_np64(grad), _np64(t), _np64(W), _np64(D.expand(W.shape)), _np(t_out), _np(vdot),
                            kern.ratio == 2.0, float(kern.tau_ms), tiny, bool(need_t), bool(need_w), bool(need_d),
                            gW_buf, gD_buf, gt)

    def summed(buf):
        return torch.from_numpy(buf.sum(axis=0) if nt > 1 else buf[0]).to(W.dtype)

    return (torch.from_numpy(gt).to(W.dtype) if need_t else None, summed(gW_buf) if need_w else None,
            summed(gD_buf) if need_d else None)


class _FusedSynapticSpikeTimes(torch.autograd.Function):
    @staticmethod
    def forward(ctx, t, W, D, kern):
        t_out, vdot = synaptic_forward_arrays(t, W, D, kern)
        ctx.save_for_backward(t, W, D, t_out, vdot)
        ctx.kern = kern
        return t_out.to(t.dtype)

    @staticmethod
    def backward(ctx, grad):
        t, W, D, t_out, vdot = ctx.saved_tensors
        need_t, need_w, need_d = ctx.needs_input_grad[:3]
        gt, gW, gD = synaptic_backward_arrays(grad, t, W, D, t_out, vdot, ctx.kern, need_t, need_w, need_d)
        return gt, gW, gD, None


def fused_synaptic_spike_times(t, W, D, kern):
    """Exact first-spike times (B, n_out) with per-synapse delays ``D`` (n_in, n_out) by the fused kernels;
    differentiable in ``t``, ``W`` and ``D``. Validated CPU tensors of one dtype (see :func:`spike_times`)."""
    return _FusedSynapticSpikeTimes.apply(t, W, D, kern)
