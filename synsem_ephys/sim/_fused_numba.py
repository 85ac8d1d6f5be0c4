r"""numba kernels of the fused exact forward and backward (CPU); the torch glue is :mod:`.fused`.

Forward, one scan per (sample, neuron). A sample's finite inputs are sorted once (``t_0 <= t_1 <= ...``,
weights ``w_k = W[order_k, n]``). The state of neuron ``n`` after input ``k`` is the pair of prefix
coefficients of :mod:`synsem_ephys.sim.kernels` *referenced to the current input*, ``r = t_k``, so every
feature is ``<= 1`` and nothing overflows or cancels (these are the ODE's own state variables, updated
event by event). With ``x = (t_k - t_{k-1}) / tau`` and ``q = exp(-x)`` (one exponential per sample and
input, shared by all neurons):

* ratio 1 (``tau = tau_syn``): ``P1 <- P1 q + w_k``, ``P2 <- (P2 - x P1) q``, ``V(y) = e^{-y} (y P1 - P2)``;
* ratio 2 (``tau = tau_mem``): ``P1 <- P1 q + w_k``, ``P2 <- P2 q^2 + w_k``, ``V(y) = u P1 - u^2 P2``,
  ``u = e^{-y}``;

``y`` in units of ``tau`` after ``t_k``. The interval ``[t_k, t_{k+1}]`` holds the first crossing iff ``V``
at its right end, or at the analytic peak when the peak lies inside, reaches threshold (the test of
:meth:`Kernel.reaches`, with the interval-end exponentials computed once per sample and input). The
crossing is then solved in closed form (Lambert W / quadratic, as :meth:`Kernel.solve`); the neuron's
state becomes NaN so that no later test fires (NaN compares false), and the sample's scan stops when
all its neurons have fired. Per element and input: two fused multiply-adds and a handful of compares,
no exponential (ratio 1 evaluates one exponential only where a cheap necessary bound
``P1^2 >= threshold (P1 + s)`` of the peak test holds, ``e^{-z} <= 1/(1+z)``). Outputs per
(sample, neuron): the spike time, ``V'(t*)`` and ``k*``, the sorted index of the crossing interval.

Backward, one pass per (sample, causal input, neuron): with ``H = dL/dt* / V'(t*)`` the implicit-function
gradients ``dL/dW[i, n] = -H K(t* - t_i)`` and ``dL/dt_i = sum_n H W[i, n] K'(t* - t_i)`` over the
causal inputs (sorted index ``<= k*`` and ``t_i < t*``). ``exp(-(t* - t_i)/tau) = A_n C_i`` with
``A_n = exp(-(t*_n - t_0)/tau)`` per neuron and ``C_i = exp((t_i - t_0)/tau)`` per input, so the inner loop
has no exponential (a sample whose span exceeds 300 tau takes one exponential per pair instead).
``dL/dW`` accumulates in one buffer per thread, summed afterwards; ``dL/dt`` is one row per sample.

Arithmetic: the state, the tests and the solve run in the dtype of ``prm`` (float64 by default, also for
float32 inputs: see :mod:`.fused`); inputs and weights are read in their own dtype. Constants of the
inner loops come from ``prm`` so that a float32 ``prm`` gives true float32 arithmetic (used only to
measure the cost of the float64 state).
"""

import math
import os

import numba
import numpy as np
from numba import njit, prange

if not os.environ.get("NUMBA_THREADING_LAYER"):
    # Numba's default picks its OpenMP layer when available; that OpenMP runtime clashes with other OpenMP
    # programs in the same process (measured: NEST's ResetKernel segfaults after one parallel kernel ran).
    # Numba's own thread pool has no such clash; a layer the user chose is kept.
    numba.config.THREADING_LAYER = "workqueue"

# prm: [tau, threshold, 0, 1, 2, 4 * threshold, 1/tau]
_TAU, _TH, _ZERO, _ONE, _TWO, _TH4, _ITAU = range(7)


def params(tau_ms, threshold, dtype):
    """The constants the kernels read, in the arithmetic dtype."""
    return np.array([tau_ms, threshold, 0.0, 1.0, 2.0, 4.0 * threshold, 1.0 / tau_ms], dtype=dtype)


@njit(cache=True, nogil=True, error_model="numpy")
def _lambertw0(z):
    """Principal branch of Lambert W on [-1/e, 0]: the scalar twin of :func:`.lambertw.lambertw0`."""
    e = math.e
    z = min(max(z, -1.0 / e), 0.0)
    p = math.sqrt(max(2.0 * (e * z + 1.0), 0.0))
    sb = -1.0 + p * (1.0 + p * (-1.0 / 3.0 + p * (11.0 / 72.0 + p * (-43.0 / 540.0 + p * 769.0 / 17280.0))))
    if p < 1e-3:
        return min(max(sb, -1.0), 0.0)
    w = sb if z < -0.25 else z * (1.0 + z * (-1.0 + 1.5 * z))
    for _ in range(5):
        ew = math.exp(w)
        f = w * ew - z
        wp1 = w + 1.0
        if abs(wp1) > 1e-12:
            denom = ew * wp1 - (wp1 + 1.0) * f / (2.0 * wp1)
            if denom != 0.0:
                w = w - f / denom
    return min(max(w, -1.0), 0.0)


@njit(cache=True, nogil=True, error_model="numpy")
def _solve(ratio2, p1, p2, h, th):
    """First crossing ``y`` (units of tau, clamped to [0, h]) and ``V'`` times tau at it."""
    p1 = float(p1)
    p2 = float(p2)
    if ratio2:
        y = 0.0
        if p2 > 0.0:
            d = max(p1 * p1 - 4.0 * th * p2, 0.0)
            u = (p1 + math.sqrt(d)) / (2.0 * p2)
            if u > 0.0:
                y = -math.log(u)
        y = min(max(y, 0.0), h)
        u = math.exp(-y)
        return y, -u * (p1 - 2.0 * u * p2)
    y = 0.0
    if p1 > 0.0:
        m = p2 / p1
        logz = math.log(th) - math.log(p1) + m
        y = m - _lambertw0(-math.exp(min(logz, 0.0)))
    y = min(max(y, 0.0), h)
    return y, math.exp(-y) * (p1 * (1.0 - y) + p2)


@njit(cache=True, nogil=True)
def _insertion_pass(a, order, m, budget):
    """Insertion sort of ``a[:m]`` (``order`` alongside) into (value, index) order; with ``budget >= 0`` it gives
    up (returns False, arrays left permuted) after that many moves."""
    moves = 0
    for j in range(1, m):
        x = a[j]
        oi = order[j]
        r = j - 1
        while r >= 0 and (a[r] > x or (a[r] == x and order[r] > oi)):
            a[r + 1] = a[r]
            order[r + 1] = order[r]
            r -= 1
            moves += 1
        a[r + 1] = x
        order[r + 1] = oi
        if budget >= 0 and moves > budget:
            return False
    return True


@njit(cache=True, nogil=True)
def _fix_order(ts, order, b, m):
    """Insertion pass putting ``ts[b, :m]``, ``order[b, :m]`` in the canonical (time, index) order; O(m) when
    they already are but for ties or rare local inversions."""
    _insertion_pass(ts[b], order[b], m, -1)


@njit(cache=True, nogil=True)
def _sort_segment(ts, order, b, i0, i1):
    """Sort ``ts[b, i0:i1]`` (and ``order`` alongside) by time, stably (ties keep their index order)."""
    vals = ts[b, i0:i1].copy()
    idx = order[b, i0:i1].copy()
    perm = np.argsort(vals, kind="mergesort")
    for j in range(i1 - i0):
        ts[b, i0 + j] = vals[perm[j]]
        order[b, i0 + j] = idx[perm[j]]


@njit(cache=True, nogil=True)
def _finite_indices(t, b, idx):
    """``idx[:m]``: the indices of sample ``b``'s finite inputs, ascending; returns ``m``."""
    m = 0
    for i in range(t.shape[1]):
        if t[b, i] < np.inf:
            idx[m] = i
            m += 1
    return m


@njit(cache=True, nogil=True)
def _sort_finite(t, b, ts, order):
    """Sort sample ``b``'s finite inputs into ``ts[b]``, ``order[b]`` in (time, index) order (+inf, index -1
    after); returns their count."""
    n_in = t.shape[1]
    idx = np.empty(n_in, np.int64)
    m = _finite_indices(t, b, idx)
    vals = np.empty(m, t.dtype)
    for j in range(m):
        vals[j] = t[b, idx[j]]
    perm = np.argsort(vals)
    for j in range(m):
        ts[b, j] = vals[perm[j]]
        order[b, j] = idx[perm[j]]
    _fix_order(ts, order, b, m)
    for j in range(m, n_in):
        ts[b, j] = np.inf
        order[b, j] = -1
    return m


@njit(parallel=True, cache=True, error_model="numpy", fastmath={"contract"})
def forward(t, W, ratio2, prm, presorted, round32, t_out, vdot, kstar, ts, order, nfin, out_ts, out_order, out_nfin):
    """Exact first-spike times. ``t`` (B, n_in) input times (+inf = none), ``W`` (n_in, n_out) C-contiguous,
    both in the dtype of ``prm``. Writes ``t_out`` (B, n_out, +inf = silent), ``vdot`` (B, n_out, 1/ms),
    ``kstar`` (B, n_out, -1 = silent); each sample's inputs in (time, index) order ``ts``, ``order``
    (B, n_in) with their finite count ``nfin`` (B,), which the backward reads: sorted here, or given
    (``presorted``: the ``out_*`` of the layer that computed ``t``); and the outputs in the same order
    ``out_ts``, ``out_order`` (B, n_out), ``out_nfin`` (B,) for the next layer (the times rounded through
    float32 first when ``round32``: the next layer then sees float32 outputs)."""
    B = t.shape[0]
    n_out = W.shape[1]
    n_words = (n_out + 7) // 8
    tau = prm[_TAU]
    th = prm[_TH]
    zero = prm[_ZERO]
    two = prm[_TWO]
    th4 = prm[_TH4]
    itau = prm[_ITAU]
    thf = float(th)
    nan = zero / zero
    inf = prm[_ONE] / zero
    for b in prange(B):
        if presorted:
            nf = nfin[b]
        else:
            nf = _sort_finite(t, b, ts, order)
            nfin[b] = nf
        n_emit = 0
        P1 = np.zeros(n_out, prm.dtype)
        P2 = np.zeros(n_out, prm.dtype)
        flag = np.zeros(8 * n_words, np.uint8)
        words = flag.view(np.uint64)
        q = np.empty(nf + 1, prm.dtype)  # q[k] = exp(-(t_k - t_{k-1}) / tau); q[nf] = 0 (open last interval)
        q[0] = prm[_ONE]
        for k in range(1, nf):
            q[k] = math.exp(-(ts[b, k] - ts[b, k - 1]) * itau)
        q[nf] = zero
        for n in range(n_out):
            t_out[b, n] = np.inf
            vdot[b, n] = 0.0
            kstar[b, n] = -1
        left = n_out
        for k in range(nf):
            tk = ts[b, k]
            last = k + 1 >= nf
            x = zero if k == 0 else (tk - ts[b, k - 1]) * itau
            h = inf if last else (ts[b, k + 1] - tk) * itau
            qk = q[k]
            eh = q[k + 1]  # V at the interval's right end, y = h
            row = order[b, k]
            nh = 0
            if ratio2:
                q2 = qk * qk
                eh2 = eh * eh
                for n in range(n_out):
                    w = W[row, n]
                    p1 = P1[n] * qk + w
                    p2 = P2[n] * q2 + w
                    P1[n] = p1
                    P2[n] = p2
                    tp2 = two * p2
                    hit = (eh * p1 - eh2 * p2 >= th) | ((p1 > zero) & (p1 >= tp2 * eh) & (p1 <= tp2)
                                                        & (p1 * p1 >= th4 * p2))
                    flag[n] = hit
                    nh += hit
            else:
                heh = zero if last else h * eh
                for n in range(n_out):
                    w = W[row, n]
                    p1o = P1[n]
                    p2 = (P2[n] - x * p1o) * qk
                    p1 = p1o * qk + w
                    P1[n] = p1
                    P2[n] = p2
                    s = p1 + p2
                    f = np.uint8(heh * p1 - eh * p2 >= th) | (np.uint8((p1 > zero) & (s >= zero) & (s <= h * p1)
                                                                        & (p1 * p1 >= th * (p1 + s))) << 1)
                    flag[n] = f
                    nh += f
            if nh:
                seg0 = n_emit
                hf = float(h)
                for wd in range(n_words):
                    if words[wd] == 0:
                        continue
                    for n in range(8 * wd, min(8 * wd + 8, n_out)):
                        f = flag[n]
                        if f == 0:
                            continue
                        p1 = P1[n]
                        p2 = P2[n]
                        if f == 2:  # only the cheap bound of the peak test held: the exact test
                            if not (float(p1) * math.exp(-(float(p1) + float(p2)) / float(p1)) >= thf):
                                continue
                        y, vd = _solve(ratio2, p1, p2, hf, thf)
                        tn = float(tk) + y * float(tau)
                        t_out[b, n] = tn
                        vdot[b, n] = vd / float(tau)
                        kstar[b, n] = k
                        out_ts[b, n_emit] = np.float32(tn) if round32 else tn
                        out_order[b, n_emit] = n
                        n_emit += 1
                        P1[n] = nan
                        P2[n] = nan
                        left -= 1
                if n_emit - seg0 > 32:  # one interval's spikes come out by neuron: sort them by time here
                    _sort_segment(out_ts, out_order, b, seg0, n_emit)
                if left == 0:
                    break
        # spikes come out by interval; within one, by neuron (an interval with many is sorted above, so that this
        # insertion pass stays O(n) where a whole layer fires in one interval, as after the last input)
        _fix_order(out_ts, out_order, b, n_emit)
        out_nfin[b] = n_emit
        for j in range(n_emit, n_out):
            out_ts[b, j] = np.inf
            out_order[b, j] = -1


@njit(inline="always", cache=True)
def _kernel_and_slope(ratio2, em, s, itau, tau_s):
    """``K(s)`` and ``K'(s)`` of an input ``s`` ms ago from ``em = exp(-s / tau)``: ratio 2 ``em - em^2`` and
    ``em^2 / tau_s - em / tau``; ratio 1 ``(s / tau) em`` and ``(1 - s / tau) em / tau``."""
    if ratio2:
        es = em * em
        return em - es, es / tau_s - em * itau
    xs = s * itau
    return xs * em, (1.0 - xs) * em * itau


@njit(parallel=True, cache=True, error_model="numpy", fastmath={"contract", "reassoc"})
def backward(grad, ts, order, W, t_out, vdot, kstar, ratio2, tau, tiny, need_t, need_w, gW_buf, gt):
    """Exact gradients. ``gW_buf`` (n_threads, n_in, n_out) float64, zeroed, gets ``dL/dW`` per thread
    (when ``need_w``); ``gt`` (B, n_in) float64, zeroed, gets ``dL/dt_in`` (when ``need_t``)."""
    B = ts.shape[0]
    n_out = W.shape[1]
    itau = 1.0 / tau
    tau_s = 0.5 * tau
    for b in prange(B):
        tid = numba.get_thread_id()
        H = np.zeros(n_out)
        A = np.zeros(n_out)
        T = np.zeros(n_out)
        ks = np.full(n_out, -1, np.int64)
        r = float(ts[b, 0])
        kmax = -1
        span = 0.0
        for n in range(n_out):
            k = kstar[b, n]
            g = float(grad[b, n])
            if k >= 0 and g != 0.0:
                H[n] = g / max(float(vdot[b, n]), tiny)
                T[n] = float(t_out[b, n])
                ks[n] = k
                kmax = max(kmax, k)
                span = max(span, (T[n] - r) * itau)
            else:
                T[n] = r
        if kmax < 0:
            continue
        direct = span > 300.0
        for n in range(n_out):
            A[n] = math.exp(-(T[n] - r) * itau)
        gWb = gW_buf[tid]
        for i in range(kmax + 1):
            idx = order[b, i]
            ti = float(ts[b, i])
            ci = math.exp((ti - r) * itau)
            acc = 0.0
            for n in range(n_out):
                s = T[n] - ti
                ok = (i <= ks[n]) & (s > 0.0)
                if direct:
                    em = math.exp(-max(s, 0.0) * itau)
                else:
                    em = A[n] * ci
                if ratio2:  # K and K' written out here (the helper below measured ~8 % slower in this loop)
                    es = em * em
                    kk = em - es
                    kp = es / tau_s - em * itau
                else:
                    xs = s * itau
                    kk = xs * em
                    kp = (1.0 - xs) * em * itau
                hk = H[n] * kk if ok else 0.0
                hkp = H[n] * kp if ok else 0.0
                if need_w:
                    gWb[idx, n] -= hk
                if need_t:
                    acc += hkp * W[idx, n]
            if need_t:
                gt[b, idx] = acc


# ---------------------------------------------------------------------------------------------- per-synapse delays
@njit(cache=True, nogil=True, error_model="numpy")
def _scan_arrivals(a, w, m, ratio2, tau, th):
    """First crossing of one neuron from its ``m`` arrivals ``a`` (sorted) with weights ``w``: (t*, V'(t*)),
    ``(inf, 0)`` when silent. The state and the tests of :func:`forward`, one neuron, in float64."""
    itau = 1.0 / tau
    p1 = 0.0
    p2 = 0.0
    q = 1.0  # exp(-(a_k - a_{k-1}) / tau)
    for k in range(m):
        last = k + 1 >= m
        x = 0.0 if k == 0 else (a[k] - a[k - 1]) * itau
        h = math.inf if last else (a[k + 1] - a[k]) * itau
        eh = 0.0 if last else math.exp(-h)
        if ratio2:
            p1 = p1 * q + w[k]
            p2 = p2 * q * q + w[k]
            tp2 = 2.0 * p2
            hit = (eh * p1 - eh * eh * p2 >= th) or (p1 > 0.0 and p1 >= tp2 * eh and p1 <= tp2
                                                     and p1 * p1 >= 4.0 * th * p2)
        else:
            p2 = (p2 - x * p1) * q
            p1 = p1 * q + w[k]
            s = p1 + p2
            heh = 0.0 if last else h * eh
            hit = heh * p1 - eh * p2 >= th
            if not hit and p1 > 0.0 and s >= 0.0 and s <= h * p1 and p1 * p1 >= th * (p1 + s):
                hit = p1 * math.exp(-(p1 + p2) / p1) >= th
        if hit:
            y, vd = _solve(ratio2, p1, p2, h, th)
            return a[k] + y * tau, vd * itau
        q = eh
    return math.inf, 0.0


@njit(cache=True, nogil=True)
def _bucket_sort(a, idx, m, out, order, cnt):
    """``out[:m]``, ``order[:m]``: the values ``a[:m]`` (input indices ``idx``, ascending) in (value, index) order,
    by ``m`` equal-width buckets then an insertion pass (O(m) for spread-out values); False if the pass would
    exceed 8 m moves (values clustered in few buckets: the caller sorts otherwise)."""
    if m == 0:
        return True
    lo = a[0]
    hi = a[0]
    for j in range(1, m):
        lo = min(lo, a[j])
        hi = max(hi, a[j])
    for j in range(m + 1):
        cnt[j] = 0
    scale = (m - 1) / (hi - lo) if hi > lo else 0.0
    for j in range(m):
        cnt[min(int((a[j] - lo) * scale), m - 1) + 1] += 1
    for j in range(m):
        cnt[j + 1] += cnt[j]
    for j in range(m):  # stable: within a bucket the input order (ascending index) is kept
        k = min(int((a[j] - lo) * scale), m - 1)
        out[cnt[k]] = a[j]
        order[cnt[k]] = idx[j]
        cnt[k] += 1
    return _insertion_pass(out, order, m, 8 * m)


@njit(parallel=True, cache=True, error_model="numpy", fastmath={"contract"})
def forward_synaptic(t, Wt, Dt, ratio2, tau, th, t_out, vdot):
    """Exact first-spike times with per-synapse delays: input ``i`` reaches neuron ``n`` at ``t[b, i] + D[i, n]``.
    Per (sample, neuron) its finite arrivals are sorted in (time, index) order and scanned as in :func:`forward`
    (state re-referenced to the current arrival, the same interval test and closed-form solve). ``t`` (B, n_in),
    ``Wt``, ``Dt`` the weights and delays transposed, (n_out, n_in) C-contiguous, float64; writes ``t_out``
    (+inf = silent) and ``vdot`` (1/ms), (B, n_out). (The backward finds the causal pairs from ``t_out``: no
    crossing index is kept.)"""
    B, n_in = t.shape
    n_out = Wt.shape[0]
    for b in prange(B):
        idx = np.empty(n_in, np.int64)
        m = _finite_indices(t, b, idx)
        a = np.empty(m)
        cnt = np.empty(m + 1, np.int64)
        order = np.empty(m, np.int64)
        aw = np.empty(m)
        ws = np.empty(m)
        tb = np.empty(m)
        for j in range(m):
            tb[j] = t[b, idx[j]]
        for n in range(n_out):
            Dn = Dt[n]
            for j in range(m):
                a[j] = tb[j] + Dn[idx[j]]
            if not _bucket_sort(a, idx, m, aw, order, cnt):
                perm = np.argsort(a)  # clustered arrivals (many in one bucket): a comparison sort, then ties
                for j in range(m):
                    order[j] = idx[perm[j]]
                    aw[j] = a[perm[j]]
                _insertion_pass(aw, order, m, -1)
            Wn = Wt[n]
            for j in range(m):
                ws[j] = Wn[order[j]]
            t_out[b, n], vdot[b, n] = _scan_arrivals(aw, ws, m, ratio2, tau, th)


@njit(parallel=True, cache=True, error_model="numpy", fastmath={"contract"})
def backward_synaptic(grad, t, W, D, t_out, vdot, ratio2, tau, tiny, need_t, need_w, need_d, gW_buf, gD_buf, gt):
    """Exact gradients with per-synapse delays over the causal pairs (arrival ``a = t_i + D[i, n] < t*_n``): with
    ``H = dL/dt* / V'(t*)``, ``dL/dW[i, n] = -H K(t* - a)``, ``dL/da = H W[i, n] K'(t* - a)`` (= ``dL/dD[i, n]``,
    summed over ``n`` into ``dL/dt_i``). ``gW_buf``, ``gD_buf`` (n_threads, n_in, n_out) and ``gt`` (B, n_in) are
    float64 and zeroed; one exponential per causal pair."""
    B, n_in = t.shape
    n_out = W.shape[1]
    itau = 1.0 / tau
    tau_s = 0.5 * tau
    for b in prange(B):
        tid = numba.get_thread_id()
        for n in range(n_out):
            T = t_out[b, n]
            g = grad[b, n]
            if not (T < np.inf) or g == 0.0:
                continue
            H = g / max(vdot[b, n], tiny)
            for i in range(n_in):
                ti = t[b, i]
                if not (ti < np.inf):
                    continue
                s = T - (ti + D[i, n])
                if not (s > 0.0):
                    continue
                kk, kp = _kernel_and_slope(ratio2, math.exp(-s * itau), s, itau, tau_s)
                if need_w:
                    gW_buf[tid, i, n] -= H * kk
                ga = H * W[i, n] * kp
                if need_d:
                    gD_buf[tid, i, n] += ga
                if need_t:
                    gt[b, i] += ga
