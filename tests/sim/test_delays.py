"""Transmission delays in the exact simulator: against the independent reference, gradients, errors.

A spike of input i at t_i arrives at output neuron j at t_i + d_ij; delays are axonal (n_in, 1),
dendritic (1, n_out) or synaptic (n_in, n_out). The reference integrator sees, per output neuron,
the shifted arrivals t_i + d_ij as its inputs (no delay logic of its own). Every test runs on every available
backend (the torch path and the fused numba kernels, per-synapse delays included: the ``backend`` fixture).
"""

import sys
import pathlib

_HERE = pathlib.Path(__file__).resolve()
for _p in (_HERE.parents[1], _HERE.parents[0]):  # reference_lif.py lives in tests/ (or later tests/sim/)
    sys.path.insert(0, str(_p))

import functools  # noqa: E402
import math  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import reference_lif as ref  # noqa: E402
from synsem_ephys.sim import spike_times, ttfs  # noqa: E402

_spike_times = spike_times
BACKENDS_HERE = ttfs.available_backends()


@pytest.fixture(autouse=True, params=BACKENDS_HERE)
def backend(request, monkeypatch):
    """Run the test on one backend: ``spike_times`` in this module takes ``backend=`` (the torch reference path,
    or numba's fused kernels where numba imports)."""
    monkeypatch.setitem(globals(), "spike_times", functools.partial(_spike_times, backend=request.param))
    return request.param


RATIOS = [1.0, 2.0]
KINDS = ["axonal", "dendritic", "synaptic"]
#: as in test_sim_exact.py: relative distance of a local maximum of V to threshold below which a case is grazing
GRAZING_MARGIN = 1e-7


def _shape(kind, n_in, n_out):
    return {"axonal": (n_in, 1), "dendritic": (1, n_out), "synaptic": (n_in, n_out)}[kind]


def _reference(t, w, d, tau_syn, tau_mem, threshold):
    """Reference times and margins, one output neuron at a time with arrivals t_i + d_ij as inputs."""
    n_in, n_out = w.shape
    d = np.broadcast_to(d, (n_in, n_out))
    out = np.full((t.shape[0], n_out), math.inf)
    marg = np.full_like(out, math.inf)
    for j in range(n_out):
        o, m = ref.layer(t + d[:, j][None, :], w[:, j : j + 1], tau_syn, tau_mem, threshold)
        out[:, j], marg[:, j] = o[:, 0], m[:, 0]
    return out, marg


@st.composite
def delay_case(draw):
    kind = draw(st.sampled_from(KINDS + ["synaptic"]))  # half the cases on the per-(sample, neuron) path
    lo = 2 if kind == "synaptic" else 1  # (n_in, 1) or (1, n_out) synaptic delays are axonal / dendritic
    n_in = draw(st.integers(lo, 8))
    n_out = draw(st.integers(lo, 4))
    batch = draw(st.integers(1, 3))
    tau_syn = draw(st.floats(0.5, 10.0))
    time = st.one_of(st.floats(0.0, 25.0), st.just(math.inf))
    t = np.array(draw(st.lists(time, min_size=batch * n_in, max_size=batch * n_in))).reshape(batch, n_in)
    if draw(st.booleans()):  # ties of input times
        t[:, : n_in // 2] = t[:, :1]
    w = np.array(draw(st.lists(st.floats(-3.0, 6.0), min_size=n_in * n_out, max_size=n_in * n_out)))
    shape = _shape(kind, n_in, n_out)
    delay = st.one_of(st.floats(0.0, 15.0), st.just(0.0))
    d = np.array(draw(st.lists(delay, min_size=shape[0] * shape[1], max_size=shape[0] * shape[1]))).reshape(shape)
    threshold = draw(st.floats(0.3, 2.0))
    group = draw(st.sampled_from([1, 2, 3, 64]))
    return t, w.reshape(n_in, n_out), d, tau_syn, threshold, group


@pytest.mark.parametrize("ratio", RATIOS)
@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=delay_case())
def test_matches_reference_integrator(ratio, case):
    t, w, d, tau_syn, threshold, group = case
    tau_mem = ratio * tau_syn
    got = spike_times(torch.tensor(t), torch.tensor(w), tau_syn_ms=tau_syn, tau_mem_ms=tau_mem,
                      threshold=threshold, group_size=group, delays_ms=torch.tensor(d)).numpy()
    want, margin = _reference(t, w, d, tau_syn, tau_mem, threshold)
    clear = margin > GRAZING_MARGIN
    assert np.array_equal(np.isfinite(got)[clear], np.isfinite(want)[clear])
    both = clear & np.isfinite(got) & np.isfinite(want)
    if both.any():
        assert np.max(np.abs(got[both] - want[both])) < 1e-9


def _robust_case(seed, ratio, kind, n_in=7, n_out=3, batch=4, d_max=6.0):
    """Random layer with delays whose outputs all fire, with no arrival within 0.05 ms of its neuron's spike."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(400):
        t = torch.rand(batch, n_in, generator=g, dtype=torch.float64) * 10.0
        w = torch.rand(n_in, n_out, generator=g, dtype=torch.float64) * 2.5 - 0.5
        d = torch.rand(_shape(kind, n_in, n_out), generator=g, dtype=torch.float64) * d_max
        out = spike_times(t, w, tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio, group_size=3, delays_ms=d)
        if torch.isfinite(out).all():
            arrivals = t[:, :, None] + d.expand(n_in, n_out)[None]
            if (out[:, None, :] - arrivals).abs().min() > 0.05:
                return t, w, d
    raise RuntimeError("no robust case found")


@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("kind", KINDS)
def test_gradcheck_delays_weights_inputs(ratio, kind):
    """Exact gradients w.r.t. input times, weights and delays against central finite differences."""
    for seed in range(2):
        t, w, d = (x.requires_grad_(True) for x in _robust_case(seed, ratio, kind))
        for group in (2, 64):
            f = lambda tt, ww, dd, group=group: spike_times(tt, ww, tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio,
                                                            group_size=group, delays_ms=dd)
            assert torch.autograd.gradcheck(f, (t, w, d), eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("ratio", RATIOS)
def test_gradcheck_synaptic_equal_columns(ratio):
    """Synaptic delays with equal columns take the shared-sort path; the delay gradient is still per synapse."""
    t, w, d = _robust_case(3, ratio, "axonal")
    D = d.expand(-1, w.shape[1]).clone()
    t, w, D = (x.requires_grad_(True) for x in (t, w, D))
    f = lambda tt, ww, dd: spike_times(tt, ww, tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio, delays_ms=dd)
    assert torch.autograd.gradcheck(f, (t, w, D), eps=1e-6, atol=1e-7, rtol=1e-5)


def _random_layer(seed, ratio, B=40, n_in=60, n_out=30, silent=0.3):
    g = torch.Generator().manual_seed(seed)
    t = torch.rand(B, n_in, generator=g, dtype=torch.float64) * 12.0
    t[torch.rand(B, n_in, generator=g) < silent] = math.inf
    scale = 60.0 / n_in  # weights calibrated for 60 inputs (a fraction of the units fires)
    w = (torch.randn(n_in, n_out, generator=g, dtype=torch.float64) * 0.25 + (0.05 if ratio == 1.0 else 0.1)) * scale
    D = torch.rand(n_in, n_out, generator=g, dtype=torch.float64) * 10.0
    return t, w, D


def _finite_sum(out):
    return torch.where(torch.isfinite(out), out, torch.zeros_like(out)).sum()


@pytest.mark.parametrize("ratio", RATIOS)
def test_synaptic_equals_one_call_per_column(ratio):
    """The batched synaptic path equals the spec's reference path, one no-delay call per output column
    on shifted inputs, in spikes and in gradients (larger layer, several candidate groups)."""
    t0, w0, D0 = _random_layer(1, ratio)
    kw = dict(tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio, group_size=8)
    t, w, D = (x.clone().requires_grad_(True) for x in (t0, w0, D0))
    out = spike_times(t, w, delays_ms=D, **kw)
    _finite_sum(out).backward()
    tc, wc, Dc = (x.clone().requires_grad_(True) for x in (t0, w0, D0))
    cols = torch.cat([spike_times(tc + Dc[:, j], wc[:, j : j + 1], **kw) for j in range(w0.shape[1])], dim=1)
    _finite_sum(cols).backward()
    fin = torch.isfinite(out)
    assert 0.2 < fin.float().mean() < 0.98
    assert torch.equal(fin, torch.isfinite(cols))
    assert torch.allclose(out[fin], cols[fin], atol=1e-11, rtol=0)
    for a, b in ((t.grad, tc.grad), (w.grad, wc.grad), (D.grad, Dc.grad)):
        assert torch.allclose(a, b, atol=1e-10, rtol=1e-9)


@pytest.mark.parametrize("ratio", RATIOS)
def test_row_path_equals_shared_sort_path(ratio):
    """The per-(sample, neuron) scan of the synaptic path, called on equal columns, equals the shared-sort path."""
    t, w, D = _random_layer(2, ratio)
    c = D[:, :1]
    kern = ttfs.Kernel(5.0, 5.0 * ratio, 1.0)
    rows = ttfs._synaptic_forward(t, w, c.expand_as(w), kern, 8, 256)
    shared = spike_times(t + c.T, w, tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio, group_size=8)
    fin = torch.isfinite(shared)
    assert torch.equal(fin, torch.isfinite(rows))
    assert torch.allclose(rows[fin], shared[fin], atol=1e-11, rtol=0)


@pytest.mark.parametrize("ratio", RATIOS)
def test_results_do_not_depend_on_slabs(ratio, monkeypatch):
    """Memory knobs (slab budget, sample blocks, chunk size) leave spikes and gradients unchanged."""
    t0, w0, D0 = _random_layer(3, ratio, B=23)
    res = []
    for budget, block, chunk in ((1 << 20, 16, 256), (97, 3, 5), (1, 1, 1)):
        monkeypatch.setattr(ttfs, "_ROW_BUDGET", budget)
        monkeypatch.setattr(ttfs, "_BLOCK", block)
        t, w, D = (x.clone().requires_grad_(True) for x in (t0, w0, D0))
        out = spike_times(t, w, tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio, delays_ms=D, chunk_size=chunk)
        _finite_sum(out).backward()
        res.append((out.detach(), t.grad, w.grad, D.grad))
    for other in res[1:]:
        assert torch.equal(torch.isfinite(res[0][0]), torch.isfinite(other[0]))
        for a, b in zip(res[0], other):
            fin = torch.isfinite(a)
            assert torch.allclose(a[fin], b[fin], atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("ratio", RATIOS)
def test_arrival_gradients_sum_to_one(ratio):
    """Time-shift equivariance: per spiking neuron, sum over causal arrivals of dT/da_ij = 1 (synaptic)."""
    t, w, D = _random_layer(4, ratio, B=1, n_in=40, n_out=25)
    D.requires_grad_(True)
    out = spike_times(t, w, tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio, delays_ms=D)
    _finite_sum(out).backward()
    fin = torch.isfinite(out[0])
    assert fin.sum() >= 5
    col = D.grad.sum(dim=0)  # dT_j/dD_ij = dT_j/da_ij; B = 1 and each column belongs to one neuron
    assert torch.allclose(col[fin], torch.ones_like(col[fin]), atol=1e-10, rtol=0)
    assert torch.all(col[~fin] == 0)
    # and shifting every arrival by c shifts every spike by c
    c = 1.75
    shifted = spike_times(t + c, w, tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio, delays_ms=D.detach())
    assert torch.equal(torch.isfinite(shifted), torch.isfinite(out))
    assert torch.allclose(shifted[0, fin], out[0, fin].detach() + c, atol=1e-10, rtol=0)


@pytest.mark.parametrize("ratio", RATIOS)
def test_uniform_axonal_delay_shifts_spikes(ratio):
    t, w, _ = _random_layer(5, ratio)
    kw = dict(tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio)
    base = spike_times(t, w, **kw)
    for d in (torch.full((t.shape[1], 1), 3.0, dtype=torch.float64), torch.tensor(3.0, dtype=torch.float64)):
        out = spike_times(t, w, delays_ms=d, **kw)
        fin = torch.isfinite(base)
        assert torch.equal(torch.isfinite(out), fin)
        assert torch.allclose(out[fin], base[fin] + 3.0, atol=1e-10, rtol=0)


@pytest.mark.parametrize("ratio", RATIOS)
def test_gradients_zero_after_spike_and_for_silent(ratio):
    """Arrivals at or after a neuron's spike, and silent neurons, get exactly zero gradient."""
    t = torch.tensor([[1.0, 2.0, 3.0, math.inf]], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([[3.0, 0.01], [2.0, 0.01], [5.0, 0.01], [1.0, 0.01]], dtype=torch.float64, requires_grad=True)
    D = torch.tensor([[0.0, 1.0], [0.5, 0.0], [40.0, 2.0], [0.0, 0.0]], dtype=torch.float64, requires_grad=True)
    out = spike_times(t, w, tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio, delays_ms=D)
    assert math.isfinite(out[0, 0].item()) and out[0, 0].item() < 43.0 and math.isinf(out[0, 1].item())
    _finite_sum(out).backward()
    assert D.grad[2, 0] == 0 and w.grad[2, 0] == 0 and t.grad[0, 2] == 0  # arrives at 43 ms, after the spike
    assert D.grad[3, 0] == 0 and w.grad[3, 0] == 0 and t.grad[0, 3] == 0  # never spikes
    assert torch.all(D.grad[:, 1] == 0) and torch.all(w.grad[:, 1] == 0)  # silent neuron
    assert D.grad[0, 0] != 0 and D.grad[1, 0] != 0
    for g in (t.grad, w.grad, D.grad):
        assert torch.isfinite(g).all()


@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_zero_delays_bit_identical(ratio, dtype):
    """delays_ms=None and all-zero delays of every shape give the same bits as no delays, gradients included."""
    t0, w0, _ = _random_layer(6, ratio, B=20, n_in=30, n_out=12)
    t0, w0 = t0.to(dtype), w0.to(dtype)
    kw = dict(tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio)

    def run(d):
        t, w = t0.clone().requires_grad_(True), w0.clone().requires_grad_(True)
        dd = None if d is None else d.clone().requires_grad_(True)
        out = spike_times(t, w, delays_ms=dd, **kw)
        _finite_sum(out).backward()
        return out.detach(), t.grad, w.grad, (None if dd is None else dd.grad)

    base = spike_times(t0, w0, **kw)
    ref_out, ref_gt, ref_gw, _ = run(None)
    assert torch.equal(ref_out, base)
    n_in, n_out = w0.shape
    for shape in ((n_in, 1), (1, n_out), (n_in, n_out), ()):
        out, gt, gw, gd = run(torch.zeros(shape, dtype=dtype))
        assert torch.equal(out, base) and torch.equal(gt, ref_gt) and torch.equal(gw, ref_gw)
        assert torch.isfinite(gd).all()


@pytest.mark.parametrize("ratio", RATIOS)
def test_zero_synaptic_delay_gradient_is_per_column_input_gradient(ratio):
    """At D = 0, dL/dD_ij = sum_b dT_bj/dt_bi (one no-delay call per column as reference)."""
    t0, w0, _ = _random_layer(7, ratio, B=10, n_in=20, n_out=6)
    kw = dict(tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio)
    D = torch.zeros(w0.shape, dtype=torch.float64, requires_grad=True)
    _finite_sum(spike_times(t0, w0, delays_ms=D, **kw)).backward()
    want = torch.zeros_like(w0)
    for j in range(w0.shape[1]):
        t = t0.clone().requires_grad_(True)
        _finite_sum(spike_times(t, w0[:, j : j + 1], **kw)).backward()
        want[:, j] = t.grad.sum(dim=0)
    assert want.abs().max() > 0
    assert torch.allclose(D.grad, want, atol=1e-10, rtol=1e-9)


@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kind", KINDS)
def test_no_nan_in_degenerate_inputs(ratio, dtype, kind):
    kw = dict(tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio)
    cases = [
        (torch.full((2, 5), math.inf), torch.ones(5, 3)),                 # all silent inputs
        (torch.rand(2, 5) * 10, -torch.rand(5, 3)),                       # negative weights only
        (torch.full((2, 5), 3.0), torch.full((5, 3), 0.5)),               # all inputs tied
        (torch.zeros((0, 5)), torch.ones(5, 3)),                          # empty batch
    ]
    for t, w in cases:
        t = t.to(dtype).requires_grad_(True)
        w = w.to(dtype).requires_grad_(True)
        d = (torch.rand(_shape(kind, 5, 3)) * 4.0).to(dtype).requires_grad_(True)
        out = spike_times(t, w, delays_ms=d, **kw)
        assert not torch.isnan(out).any()
        _finite_sum(out).backward()
        for g in (t.grad, w.grad, d.grad):
            assert not torch.isnan(g).any()


@pytest.mark.parametrize("ratio", RATIOS)
def test_float32_synaptic_close_to_float64(ratio):
    t, w, D = _random_layer(8, ratio, B=64, n_in=50, n_out=20)
    kw = dict(tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio)
    a = spike_times(t, w, delays_ms=D, **kw)
    b = spike_times(t.float(), w.float(), delays_ms=D.float(), **kw).double()
    both = torch.isfinite(a) & torch.isfinite(b)
    assert (torch.isfinite(a) == torch.isfinite(b)).float().mean() > 0.99
    assert torch.median(torch.abs(a[both] - b[both])) < 1e-4


def test_negative_input_times_with_synaptic_delays():
    """Negative input times (allowed) sort correctly in the synaptic path: same as the per-column calls."""
    t, w, D = _random_layer(9, 2.0, B=8, n_in=20, n_out=5)
    t = t - 6.0
    kw = dict(tau_syn_ms=5.0, tau_mem_ms=10.0)
    out = spike_times(t, w, delays_ms=D, **kw)
    cols = torch.cat([spike_times(t + D[:, j], w[:, j : j + 1], **kw) for j in range(5)], dim=1)
    fin = torch.isfinite(out)
    assert fin.any() and torch.equal(fin, torch.isfinite(cols))
    assert torch.allclose(out[fin], cols[fin], atol=1e-11, rtol=0)


@pytest.mark.parametrize(
    "delays, fragment",
    [
        (torch.tensor([[-0.5], [0.0], [1.0]], dtype=torch.float64), "delays >= 0"),
        (torch.tensor([[math.nan], [0.0], [1.0]], dtype=torch.float64), "got NaN"),
        (torch.tensor([[math.inf], [0.0], [1.0]], dtype=torch.float64), "got inf"),
        (torch.zeros((2, 4), dtype=torch.float64), "got shape (2, 4)"),
        (torch.zeros((3, 3), dtype=torch.float64), "got shape (3, 3)"),
        (torch.zeros(3, dtype=torch.float64), "ambiguous"),
        (torch.zeros((3, 4, 1), dtype=torch.float64), "got shape (3, 4, 1)"),
        (torch.zeros((3, 1), dtype=torch.float32), "dtype and device"),
        ("soon", "got str"),
    ],
)
def test_delay_errors(delays, fragment):
    t = torch.rand(2, 3, dtype=torch.float64)
    w = torch.rand(3, 4, dtype=torch.float64)
    with pytest.raises(ValueError) as exc:
        spike_times(t, w, tau_syn_ms=5.0, tau_mem_ms=10.0, delays_ms=delays)
    msg = str(exc.value)
    assert msg.startswith("delays_ms: expected") and "; got" in msg and fragment in msg
