"""The closed-form simulator against the independent reference integrator, and its gradients."""

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from synsem_ephys.sim import Kernel, lambertw0, spike_times
from synsem_ephys.sim.ttfs import available_backends

import reference_lif as ref

RATIOS = [1.0, 2.0]
#: every backend of spike_times; one that cannot run here (numba not installed) is skipped, not dropped
BACKENDS = [pytest.param(b, marks=pytest.mark.skipif(b not in available_backends(), reason=f"{b} not installed"))
            for b in ("torch", "numba")]
#: relative distance of a local maximum of V to threshold below which a case counts as grazing
GRAZING_MARGIN = 1e-7


@st.composite
def layer_case(draw):
    n_in = draw(st.integers(1, 9))
    n_out = draw(st.integers(1, 4))
    batch = draw(st.integers(1, 3))
    tau_syn = draw(st.floats(0.5, 10.0))
    time = st.one_of(st.floats(0.0, 25.0), st.just(math.inf))
    t = np.array(draw(st.lists(time, min_size=batch * n_in, max_size=batch * n_in))).reshape(batch, n_in)
    if draw(st.booleans()):  # ties
        t[:, : n_in // 2] = t[:, :1]
    w = np.array(draw(st.lists(st.floats(-3.0, 6.0), min_size=n_in * n_out, max_size=n_in * n_out)))
    threshold = draw(st.floats(0.3, 2.0))
    group = draw(st.sampled_from([1, 2, 3, 64]))
    return t, w.reshape(n_in, n_out), tau_syn, threshold, group


@pytest.mark.parametrize("ratio", RATIOS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=layer_case())
def test_matches_reference_integrator(ratio, case):
    """Every available backend against the same reference (computed once per example: it is the slow part)."""
    t, w, tau_syn, threshold, group = case
    tau_mem = ratio * tau_syn
    want, margin = ref.layer(t, w, tau_syn, tau_mem, threshold)
    clear = margin > GRAZING_MARGIN
    for backend in available_backends():
        got = spike_times(torch.tensor(t), torch.tensor(w), tau_syn_ms=tau_syn, tau_mem_ms=tau_mem,
                          threshold=threshold, group_size=group, backend=backend).numpy()
        # spike / no-spike: no disagreement outside the grazing margin
        assert np.array_equal(np.isfinite(got)[clear], np.isfinite(want)[clear]), backend
        both = clear & np.isfinite(got) & np.isfinite(want)
        if both.any():
            assert np.max(np.abs(got[both] - want[both])) < 1e-9, backend


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("delta", [1e-3, 1e-5, -1e-5, -1e-3])
def test_near_grazing_single_input(ratio, delta, backend):
    """One input whose kernel peak sits just above / below threshold."""
    tau_syn = 5.0
    kern = Kernel(tau_syn, ratio * tau_syn, 1.0)
    kpeak = float(kern.K(torch.tensor(kern.peak_time_ms, dtype=torch.float64)))
    w = (1.0 + delta) / kpeak
    t = torch.tensor([[2.0]], dtype=torch.float64)
    out = spike_times(t, torch.tensor([[w]], dtype=torch.float64), tau_syn_ms=tau_syn, tau_mem_ms=ratio * tau_syn,
                      backend=backend)
    want, _ = ref.layer(t.numpy(), np.array([[w]]), tau_syn, ratio * tau_syn, 1.0)
    assert math.isfinite(out.item()) == (delta > 0) == math.isfinite(want[0, 0])
    if delta > 0:
        # the time is ill-conditioned near grazing: error ~ rounding / sqrt(delta)
        assert abs(out.item() - want[0, 0]) < 1e-6
        assert out.item() < 2.0 + kern.peak_time_ms


@pytest.mark.parametrize("ratio", RATIOS)
def test_kernel_is_the_lif_ode(ratio):
    """The kernel sum equals a numerical solution of tau_m V' = -V + I, tau_s I' = -I, I += w."""
    tau_s, tau_m = 4.0, 4.0 * ratio
    t_in = np.array([1.0, 2.5, 2.5, 7.0])
    w = np.array([0.8, -0.3, 0.5, 1.1])
    t_eval = np.linspace(0, 30, 301)
    state = np.zeros(2)
    vs = []
    edges = [0.0] + list(np.unique(t_in)) + [30.0]
    for a, b in zip(edges[:-1], edges[1:]):
        state[1] += w[t_in == a].sum()
        sel = t_eval[(t_eval >= a) & (t_eval < b)]
        sol = solve_ivp(lambda _, y: [(-y[0] + y[1]) / tau_m, -y[1] / tau_s], (a, b), state, t_eval=sel,
                        rtol=1e-12, atol=1e-14, method="DOP853")
        vs.append(sol.y[0])
        state = solve_ivp(lambda _, y: [(-y[0] + y[1]) / tau_m, -y[1] / tau_s], (a, b), state,
                          rtol=1e-12, atol=1e-14, method="DOP853").y[:, -1]
    v_ode = np.concatenate(vs)[: len(t_eval) - 1]
    # ratio 1: tau dV/dt = -V + I gives (s/tau) e^{-s/tau} for a unit jump in I -- same normalisation
    v_ker = np.array([np.sum(w * ref.kernel(x - t_in, tau_s, tau_m)) for x in t_eval[:-1]])
    assert np.max(np.abs(v_ode - v_ker)) < 1e-9


def test_lambertw_matches_scipy():
    from scipy.special import lambertw

    z = torch.cat([torch.linspace(-1 / math.e, 0, 2001, dtype=torch.float64),
                   -1 / math.e + torch.logspace(-15, -2, 200, dtype=torch.float64)])
    w = lambertw0(z)
    # residual at rounding everywhere; value exact away from the (ill-conditioned) branch point
    assert torch.max(torch.abs(w * torch.exp(w) - z)) < 1e-15
    far = z > -1 / math.e + 1e-6
    assert np.max(np.abs(w[far].numpy() - lambertw(z[far].numpy()).real)) < 1e-12


def _robust_case(seed, ratio, n_in=7, n_out=3, batch=4):
    """Random layer whose outputs all fire, with no input within 0.05 ms of an output spike."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(200):
        t = torch.rand(batch, n_in, generator=g, dtype=torch.float64) * 10.0
        w = torch.rand(n_in, n_out, generator=g, dtype=torch.float64) * 2.5 - 0.5
        out = spike_times(t, w, tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio, threshold=1.0, group_size=3, backend="torch")
        if torch.isfinite(out).all():
            gap = (out[:, None, :] - t[:, :, None]).abs().min()
            if gap > 0.05:
                return t, w
    raise RuntimeError("no robust case found")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("group", [2, 3, 64])
def test_gradcheck(ratio, group, backend):
    if backend != "torch" and group != 64:
        pytest.skip("group_size is a parameter of the torch path only")
    for seed in range(3):
        t, w = _robust_case(seed, ratio)
        t.requires_grad_(True)
        w.requires_grad_(True)
        f = lambda tt, ww: spike_times(tt, ww, tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio, group_size=group,
                                       backend=backend)
        assert torch.autograd.gradcheck(f, (t, w), eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ratio", RATIOS)
def test_gradients_zero_for_silent_and_acausal(ratio, backend):
    t = torch.tensor([[1.0, 2.0, 40.0, math.inf]], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([[3.0, 0.01], [2.0, 0.01], [5.0, 0.01], [1.0, 0.01]], dtype=torch.float64, requires_grad=True)
    out = spike_times(t, w, tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio, backend=backend)
    assert math.isfinite(out[0, 0].item()) and out[0, 0].item() < 40.0 and math.isinf(out[0, 1].item())
    out[torch.isfinite(out)].sum().backward()
    assert t.grad[0, 2] == 0 and t.grad[0, 3] == 0
    assert torch.all(w.grad[:, 1] == 0) and w.grad[2, 0] == 0 and w.grad[3, 0] == 0
    assert torch.isfinite(t.grad).all() and torch.isfinite(w.grad).all()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_no_nan_in_degenerate_inputs(ratio, dtype, backend):
    kw = dict(tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio, backend=backend)
    cases = [
        (torch.full((2, 5), math.inf), torch.ones(5, 3)),                 # all silent inputs
        (torch.rand(2, 5) * 10, -torch.rand(5, 3)),                       # negative weights only
        (torch.full((2, 5), 3.0), torch.full((5, 3), 0.5)),               # all inputs tied
        (torch.zeros((0, 5)), torch.ones(5, 3)),                          # empty batch
        (torch.zeros((2, 0)), torch.ones(0, 3)),                          # no inputs
    ]
    for t, w in cases:
        t = t.to(dtype).requires_grad_(True)
        w = w.to(dtype).requires_grad_(True)
        out = spike_times(t, w, **kw)
        assert not torch.isnan(out).any()
        out.masked_fill(~torch.isfinite(out), 0.0).sum().backward()
        assert not torch.isnan(t.grad).any() and not torch.isnan(w.grad).any()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ratio", RATIOS)
def test_float32_close_to_float64(ratio, backend):
    g = torch.Generator().manual_seed(3)
    t = torch.rand(64, 50, generator=g, dtype=torch.float64) * 10
    w = torch.randn(50, 20, generator=g, dtype=torch.float64) * 0.3 + 0.1
    kw = dict(tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio, backend=backend)
    a = spike_times(t, w, **kw)
    b = spike_times(t.float(), w.float(), **kw).double()
    both = torch.isfinite(a) & torch.isfinite(b)
    assert (torch.isfinite(a) == torch.isfinite(b)).float().mean() > 0.99
    assert torch.median(torch.abs(a[both] - b[both])) < 1e-4


@pytest.mark.parametrize("ratio", RATIOS)
def test_dense_and_pairwise_refinement_agree(ratio, monkeypatch):
    """The two scans of a candidate group of the torch path (whole samples vs pair by pair) agree."""
    import synsem_ephys.sim.ttfs as ttfs

    g = torch.Generator().manual_seed(11)
    t = torch.rand(40, 60, generator=g, dtype=torch.float64) * 12.0
    t[t > 11.0] = math.inf
    w = torch.randn(60, 30, generator=g, dtype=torch.float64) * 0.25 + (0.05 if ratio == 1.0 else 0.1)
    kw = dict(tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio, group_size=8, backend="torch")
    outs = []
    for frac in (0.0, 10.0):
        monkeypatch.setattr(ttfs, "_DENSE_FRACTION", frac)
        outs.append(spike_times(t, w, **kw))
    a, b = outs
    assert 0.2 < torch.isfinite(a).float().mean() < 0.98
    assert torch.equal(torch.isfinite(a), torch.isfinite(b))
    assert torch.allclose(a[torch.isfinite(a)], b[torch.isfinite(b)], atol=1e-12, rtol=0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ratio", RATIOS)
def test_silent_inputs_trimmed_per_chunk(ratio, backend):
    """Groups are built only up to the chunk's last finite input: sparse samples give the same spikes
    and gradients alone as beside a sample whose inputs all spike (which forces every group)."""
    g = torch.Generator().manual_seed(5)
    sparse = torch.rand(6, 60, generator=g, dtype=torch.float64) * 10.0
    sparse[torch.rand(6, 60, generator=g) < 0.75] = math.inf
    full = torch.rand(1, 60, generator=g, dtype=torch.float64) * 10.0
    w0 = torch.randn(60, 20, generator=g, dtype=torch.float64) * 0.4 + 0.3
    kw = dict(tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio, group_size=4, backend=backend)
    res = []
    for rows in (sparse, torch.cat([sparse, full])):
        t = rows.clone().requires_grad_(True)
        w = w0.clone().requires_grad_(True)
        out = spike_times(t, w, **kw)[:6]
        out.masked_fill(~torch.isfinite(out), 0.0).sum().backward()
        res.append((out.detach(), t.grad[:6], w.grad))
    (a, ta, wa), (b, tb, wb) = res
    assert 0.2 < torch.isfinite(a).float().mean() < 0.98
    assert torch.equal(torch.isfinite(a), torch.isfinite(b))
    fin = torch.isfinite(a)
    assert torch.allclose(a[fin], b[fin], atol=1e-12, rtol=0)
    assert torch.allclose(ta, tb, atol=1e-12, rtol=1e-10) and torch.allclose(wa, wb, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("ratio", RATIOS)
def test_reaches_agrees_with_direct_interval_max(ratio):
    """The exponential-free interval test equals max(V(lo), V(hi), peak inside) >= threshold."""
    kern = Kernel(4.0, 4.0 * ratio, 1.0)
    g = torch.Generator().manual_seed(5)
    n = 200_000
    P1 = torch.randn(n, generator=g, dtype=torch.float64) * 3.0
    P2 = torch.randn(n, generator=g, dtype=torch.float64) * 3.0
    lo = torch.rand(n, generator=g, dtype=torch.float64) * 10.0
    hi = lo + torch.rand(n, generator=g, dtype=torch.float64) * 10.0
    hi[::7] = math.inf
    got = kern.reaches(P1, P2, kern.interval_ends(lo, hi))
    vlo = kern.value(P1, P2, lo)
    want = kern.interval_max(P1, P2, lo, hi) >= 1.0
    # reaches skips V(lo) by design (continuity: it was the previous interval's V(hi))
    consider = vlo < 1.0 - 1e-9
    near = (kern.interval_max(P1, P2, lo, hi) - 1.0).abs() < 1e-9
    assert int(want[consider].sum()) > 100 and int((~want[consider]).sum()) > 100
    assert torch.equal(got[consider & ~near], want[consider & ~near])
