"""Independent reference for first-spike times: event to event, numeric root finding, no closed form.

The membrane potential is evaluated directly from its definition as a sum of post-synaptic kernels
(``V(t) = sum_{t_i < t} w_i K(t - t_i)``); within each inter-input interval it is sampled, every local
maximum among the samples is refined with ``scipy.optimize.minimize_scalar`` and the first crossing of
the threshold is bracketed and found with ``scipy.optimize.brentq`` (xtol 1e-14 ms). Nothing here
uses the Lambert W or quadratic solutions of the simulator.
"""

import math

import numpy as np
from scipy.optimize import brentq, minimize_scalar


def kernel(s, tau_syn, tau_mem):
    s = np.asarray(s, dtype=float)
    out = np.zeros_like(s)
    pos = s > 0
    if abs(tau_mem - tau_syn) < 1e-12 * tau_syn:
        out[pos] = (s[pos] / tau_syn) * np.exp(-s[pos] / tau_syn)
    else:
        out[pos] = np.exp(-s[pos] / tau_mem) - np.exp(-s[pos] / tau_syn)
    return out


def first_spike(t_in, w, tau_syn, tau_mem, threshold, n_samples=96):
    """Return (t_spike or inf, peak_margin) for one neuron.

    ``peak_margin`` is the smallest |V - threshold| at any local maximum of V found before the spike
    (or over all time without a spike), relative to threshold: the distance to a grazing case.
    """
    t_in = np.asarray(t_in, float)
    w = np.asarray(w, float)
    fin = np.isfinite(t_in)
    t_in, w = t_in[fin], w[fin]
    if t_in.size == 0:
        return math.inf, math.inf

    def V(t):
        return float(np.sum(w * kernel(t - t_in, tau_syn, tau_mem)))

    edges = np.unique(t_in)
    tail = edges[-1] + 60.0 * max(tau_syn, tau_mem)
    edges = np.append(edges, tail)
    margin = math.inf
    for a, b in zip(edges[:-1], edges[1:]):
        xs = np.linspace(a, b, n_samples)
        vs = np.array([V(x) for x in xs])
        above = np.nonzero(vs >= threshold)[0]
        first = above[0] if above.size else None
        # local maxima among samples before the first sample above threshold
        stop = first if first is not None else n_samples
        for k in range(stop):
            left = vs[k - 1] if k > 0 else -math.inf
            right = vs[k + 1] if k + 1 < n_samples else -math.inf
            if vs[k] >= left and vs[k] >= right:
                lo_, hi_ = xs[max(k - 1, 0)], xs[min(k + 1, n_samples - 1)]
                res = minimize_scalar(lambda x: -V(x), bounds=(lo_, hi_), method="bounded",
                                      options={"xatol": 1e-13})
                vmax = -res.fun
                margin = min(margin, abs(vmax - threshold) / threshold)
                if vmax >= threshold:
                    lo_b = xs[max(k - 1, 0)]
                    if V(lo_b) >= threshold:
                        return lo_b, margin
                    return brentq(lambda x: V(x) - threshold, lo_b, res.x, xtol=1e-14, rtol=1e-15), margin
        if first is not None:
            if first == 0:
                return a, margin
            return brentq(lambda x: V(x) - threshold, xs[first - 1], xs[first], xtol=1e-14, rtol=1e-15), margin
    return math.inf, margin


def layer(t_in, W, tau_syn, tau_mem, threshold):
    """Reference first-spike times (batch, n_out) and grazing margins."""
    t_in = np.asarray(t_in, float)
    W = np.asarray(W, float)
    out = np.full((t_in.shape[0], W.shape[1]), math.inf)
    marg = np.full_like(out, math.inf)
    for b in range(t_in.shape[0]):
        for n in range(W.shape[1]):
            out[b, n], marg[b, n] = first_spike(t_in[b], W[:, n], tau_syn, tau_mem, threshold)
    return out, marg
