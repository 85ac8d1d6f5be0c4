r"""Grazing margins: how close a neuron's membrane potential comes to threshold without a clear crossing.

For one (sample, neuron) the local maxima of ``V(t) = sum_{t_i < t} w_i K(t - t_i)`` are, per inter-input
interval ``[t_k, t_{k+1}]``, the analytic peak of the closed form (when it lies inside) and the kinks at
input times where ``V'`` jumps from positive to non-positive (``K'(0+) = 1/tau`` in both models). The
margin is ``min |V_max - threshold| / threshold`` over the maxima before the spike and the first one at or
after it (over all maxima for a silent neuron): below a dtype's rounding of ``V`` the spike / no-spike
decision and the time (error ~ rounding / sqrt(margin)) are ill-conditioned. Float64, numpy, O(m^2) per
pair with m finite inputs: a diagnostic for a few pairs (tests, benchmarks), not for whole layers.
"""

import math

import numpy as np

__all__ = ["pair_margin"]


def pair_margin(t_in, w, kern, t_spike=math.inf):
    """Relative grazing margin of one neuron with inputs ``t_in`` (n_in,) ms and weights ``w`` (n_in,).

    ``kern``: a :class:`~synsem_ephys.sim.Kernel`; ``t_spike``: the neuron's (float64) spike time or inf.
    """
    t_in = np.asarray(t_in, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    fin = np.isfinite(t_in)
    order = np.argsort(t_in[fin], kind="stable")
    t, w = t_in[fin][order], w[fin][order]
    m = t.size
    if m == 0:
        return math.inf
    tau, th = kern.tau_ms, kern.threshold
    X = (t[None, :] - t[:, None]) / tau  # X[k, i] = (t_i - t_k) / tau, causal for i <= k
    causal = np.tril(np.ones((m, m), dtype=bool))
    E = np.where(causal, np.exp(np.where(causal, X, 0.0)), 0.0) * w[None, :]
    P1 = E.sum(axis=1)
    P2 = (E * np.where(causal, X, 0.0)).sum(axis=1) if kern.ratio == 1.0 else (E * np.where(
        causal, np.exp(np.where(causal, X, 0.0)), 0.0)).sum(axis=1)
    h = np.append(np.diff(t) / tau, np.inf)
    times, vals = [], []
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if kern.ratio == 1.0:
            y = 1.0 + P2 / P1
            ok = (P1 > 0) & (y >= 0) & (y <= h)
            vp = P1 * np.exp(-y)
            eh = np.exp(-np.where(np.isfinite(h), h, 0.0))
            vd_end = eh * (P1 * (1.0 - h) + P2) / tau  # V' at the right end, before input k+1
        else:
            u = P1 / (2.0 * P2)
            ok = (P1 > 0) & (P2 > 0) & (u <= 1.0) & (u >= np.exp(-h))
            vp = P1 * P1 / (4.0 * P2)
            y = -np.log(np.where(ok, u, 1.0))
            eh = np.exp(-np.where(np.isfinite(h), h, 0.0))
            vd_end = -eh * (P1 - 2.0 * eh * P2) / tau
            eh2 = eh * eh
        for k in np.nonzero(ok)[0]:
            times.append(t[k] + y[k] * tau)
            vals.append(vp[k])
        # kinks: at each distinct input time t_{k+1}, V' before > 0 and after (plus the jumps w/tau) <= 0
        for k in range(m - 1):
            if t[k + 1] == t[k]:
                continue
            j = k + 1
            while j + 1 < m and t[j + 1] == t[k + 1]:
                j += 1
            if vd_end[k] > 0 and vd_end[k] + w[k + 1 : j + 1].sum() / tau <= 0:
                v_end = eh[k] * (h[k] * P1[k] - P2[k]) if kern.ratio == 1.0 else eh[k] * P1[k] - eh2[k] * P2[k]
                times.append(t[k + 1])
                vals.append(v_end)
    if not times:
        return math.inf
    times, vals = np.array(times), np.array(vals)
    sel = times < t_spike
    after = np.nonzero(times >= t_spike)[0]
    if after.size:
        sel[after[np.argmin(times[after])]] = True
    if not sel.any():
        return math.inf
    return float(np.min(np.abs(vals[sel] - th)) / th)
