"""The backends of spike_times: the fused numba kernel against the torch reference path, and the choice of backend.

Exactness against the independent integrator and gradcheck run on every backend in test_sim_exact.py;
here: forward and gradients of the two backends agree (times to 1e-12 ms, gradients to 1e-10 relative)
on layers of realistic shape, float32 through the fused kernel is float64 rounded, "auto" and the errors.
"""

import math

import pytest
import torch

import synsem_ephys.sim.fused as fused
from synsem_ephys.sim import Network, spike_times
from synsem_ephys.sim.ttfs import BACKENDS, available_backends
from synsem_ephys.spec import NetworkSpec

RATIOS = [1.0, 2.0]
needs_numba = pytest.mark.skipif("numba" not in available_backends(), reason="numba not installed")


def _layer(seed, batch=24, n_in=90, n_out=40, ratio=2.0, silent=0.4, ties=True):
    g = torch.Generator().manual_seed(seed)
    t = torch.rand(batch, n_in, generator=g, dtype=torch.float64) * 15.0
    t[torch.rand(batch, n_in, generator=g) < silent] = math.inf
    if ties:
        t[:, :6] = t[:, :1]
    w = torch.randn(n_in, n_out, generator=g, dtype=torch.float64) * 0.35 + (0.06 if ratio == 1.0 else 0.1)
    return t, w


def _run(t, w, ratio, backend, grad):
    t = t.clone().requires_grad_(True)
    w = w.clone().requires_grad_(True)
    out = spike_times(t, w, tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio, backend=backend)
    g = torch.randn(out.shape, generator=torch.Generator().manual_seed(3), dtype=out.dtype)
    out.backward(torch.where(torch.isfinite(out), g, torch.zeros_like(g)) if grad else torch.zeros_like(g))
    return out.detach(), t.grad, w.grad


@needs_numba
@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("seed", [0, 1])
def test_numba_agrees_with_torch(ratio, seed):
    t, w = _layer(seed, ratio=ratio)
    a, ta, wa = _run(t, w, ratio, "torch", True)
    b, tb, wb = _run(t, w, ratio, "numba", True)
    fire = torch.isfinite(a)
    assert 0.2 < fire.float().mean() < 0.95
    assert torch.equal(fire, torch.isfinite(b))
    assert torch.max(torch.abs(a[fire] - b[fire])) < 1e-12
    for x, y in ((ta, tb), (wa, wb)):
        assert torch.max(torch.abs(x - y)) <= 1e-10 * torch.max(torch.abs(x)) + 1e-14


@needs_numba
@pytest.mark.parametrize("ratio", RATIOS)
def test_numba_float32_is_float64_rounded(ratio):
    """The fused kernel scans float32 inputs with a float64 state: the float64 result on the same
    (float32-valued) inputs, rounded once."""
    t, w = _layer(4, ratio=ratio)
    t32, w32 = t.float(), w.float()
    kw = dict(tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio, backend="numba")
    got = spike_times(t32, w32, **kw)
    want = spike_times(t32.double(), w32.double(), **kw).float()
    assert got.dtype == torch.float32
    assert torch.equal(got, want)


@needs_numba
@pytest.mark.parametrize("ratio", RATIOS)
def test_network_same_on_both_backends(ratio):
    """A calibrated small network: every layer's spikes agree; gradients of a loss on the output agree."""
    spec = NetworkSpec(30, hidden=((16, 4), (12, 4)), n_outputs=5, tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio)
    g = torch.Generator().manual_seed(0)
    t_in = torch.rand(16, 30, generator=g, dtype=torch.float64) * 10.0
    net = Network(spec, seed=2)
    net.calibrate_(t_in, target=(0.5, 0.9))
    res = {}
    for backend in ("torch", "numba"):
        net.zero_grad(set_to_none=True)
        t = t_in.clone().requires_grad_(True)
        h, outs = t, []
        for W in net.weights:
            h = spike_times(h, W, tau_syn_ms=spec.tau_syn_ms, tau_mem_ms=spec.tau_mem_ms, backend=backend)
            outs.append(h)
        sum(torch.where(torch.isfinite(o), o, torch.zeros_like(o)).sum() for o in outs).backward()
        res[backend] = ([o.detach() for o in outs], t.grad, [W.grad.clone() for W in net.weights])
    (oa, ta, wa), (ob, tb, wb) = res["torch"], res["numba"]
    for x, y in zip(oa, ob):
        assert torch.equal(torch.isfinite(x), torch.isfinite(y))
        assert torch.max(torch.abs(x - y)[torch.isfinite(x)]) < 1e-11
    for x, y in zip([ta] + wa, [tb] + wb):
        assert torch.max(torch.abs(x - y)) <= 1e-10 * torch.max(torch.abs(x)) + 1e-14


@needs_numba
def test_numba_threads_do_not_change_results():
    t, w = _layer(5, batch=40)
    old = torch.get_num_threads()
    res = []
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            res.append(_run(t, w, 2.0, "numba", True))
    finally:
        torch.set_num_threads(old)
    (a, ta, wa), (b, tb, wb) = res
    assert torch.equal(a, b) and torch.equal(ta, tb)
    assert torch.max(torch.abs(wa - wb)) <= 1e-12 * torch.max(torch.abs(wa))  # per-thread dL/dW buffers: order only


@needs_numba
@pytest.mark.parametrize("kind", ["axonal", "dendritic", "synaptic"])
@pytest.mark.parametrize("ratio", RATIOS)
def test_delays_on_numba_match_torch(kind, ratio):
    """Axonal, dendritic and per-synapse delays on both backends: the same spikes (1e-12 ms) and gradients w.r.t.
    input times, weights and delays (1e-10 relative); ties of input times included."""
    t, w = _layer(6, batch=6, n_in=20, n_out=8, ratio=ratio)
    shape = {"axonal": (20, 1), "dendritic": (1, 8), "synaptic": (20, 8)}[kind]
    d = torch.rand(shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 4.0
    res = []
    for backend in ("torch", "numba"):
        tt, ww, dd = t.clone().requires_grad_(True), (4.0 * w).requires_grad_(True), d.clone().requires_grad_(True)
        out = spike_times(tt, ww, tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio, delays_ms=dd, backend=backend)
        g = torch.randn(out.shape, generator=torch.Generator().manual_seed(3), dtype=out.dtype)
        out.backward(torch.where(torch.isfinite(out), g, torch.zeros_like(g)))
        res.append((out.detach(), tt.grad, ww.grad, dd.grad))
    (a, *ga), (b, *gb) = res
    assert 0.2 < torch.isfinite(a).float().mean() < 0.95
    assert torch.equal(torch.isfinite(a), torch.isfinite(b))
    assert torch.max(torch.abs(a - b)[torch.isfinite(a)]) < 1e-12
    for x, y in zip(ga, gb):
        assert torch.max(torch.abs(x - y)) <= 1e-10 * torch.max(torch.abs(x)) + 1e-14


@needs_numba
def test_synaptic_arrival_sorts_bucket_and_fallback_agree_with_torch():
    """The fused per-synapse path sorts each neuron's arrivals by buckets plus an insertion pass, or, when one
    bucket holds most of them (a far outlier delay), by a comparison sort: both in exact (time, index) order
    (tied arrivals included), so spikes and gradients equal the torch path's."""
    g = torch.Generator().manual_seed(5)
    t = torch.rand(4, 50, generator=g, dtype=torch.float64) * 8.0
    t[:, 10:20] = t[:, 10:11]  # tied input times
    w = torch.rand(50, 12, generator=g, dtype=torch.float64) * 0.3
    d = torch.rand(50, 12, generator=g, dtype=torch.float64) * 3.0
    d[0, :6] = 500.0  # columns 0-5: one arrival 500 ms out, the rest in one bucket -> the fallback sort
    d[10:20, 6:] = d[10:11, 6:]  # tied arrivals in the bucketed columns
    res = []
    for backend in ("torch", "numba"):
        tt, ww, dd = (x.clone().requires_grad_(True) for x in (t, w, d))
        out = spike_times(tt, ww, tau_syn_ms=5.0, tau_mem_ms=10.0, delays_ms=dd, backend=backend)
        out.masked_fill(~torch.isfinite(out), 0.0).sum().backward()
        res.append((out.detach(), tt.grad, ww.grad, dd.grad))
    (a, *ga), (b, *gb) = res
    assert 0.5 < torch.isfinite(a[:, :6]).float().mean() and 0.5 < torch.isfinite(a[:, 6:]).float().mean()
    assert torch.equal(torch.isfinite(a), torch.isfinite(b))
    assert torch.max(torch.abs(a - b)[torch.isfinite(a)]) < 1e-12
    for x, y in zip(ga, gb):
        assert torch.max(torch.abs(x - y)) <= 1e-10 * torch.max(torch.abs(x)) + 1e-14


def test_unknown_backend_is_an_error_naming_backend():
    t, w = _layer(7, batch=2, n_in=5, n_out=2)
    with pytest.raises(ValueError, match=r"^backend: expected one of 'auto', 'torch', 'numba'; got 'cuda'"):
        spike_times(t, w, tau_syn_ms=5.0, tau_mem_ms=10.0, backend="cuda")
    assert BACKENDS == ("auto", "torch", "numba")


def test_missing_numba_auto_falls_back_explicit_is_an_error(monkeypatch):
    t, w = _layer(8, batch=4, n_in=12, n_out=3)
    kw = dict(tau_syn_ms=5.0, tau_mem_ms=10.0)
    want = spike_times(t, w, backend="torch", **kw)
    monkeypatch.setattr(fused, "_AVAILABLE", False)
    assert available_backends() == ("torch",)
    assert torch.equal(spike_times(t, w, **kw), want)  # "auto": the torch path, no error
    with pytest.raises(ImportError, match=r"^backend: .*numba is not installed.*got 'numba'.*pip install numba"):
        spike_times(t, w, backend="numba", **kw)


def test_auto_is_the_fastest_available():
    t, w = _layer(9, batch=4, n_in=12, n_out=3)
    kw = dict(tau_syn_ms=5.0, tau_mem_ms=10.0)
    best = "numba" if "numba" in available_backends() else "torch"
    assert torch.equal(spike_times(t, w, **kw), spike_times(t, w, backend=best, **kw))


@needs_numba
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_sorted_handoff_between_layers_is_bit_identical(dtype):
    """A layer's output carries its spikes in (time, index) order for the next layer (no re-sort); the
    next layer gives the same bits with and without it (ties included), and an in-place change drops it."""
    t, w1 = _layer(10, batch=12, n_in=60, n_out=40, silent=0.2)
    w2 = torch.randn(40, 25, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 0.4 + 0.2
    w2[:, 1] = w2[:, 0]
    t, w1, w2 = t.to(dtype), w1.to(dtype), w2.to(dtype)
    w1[:, 3] = w1[:, 2]  # two identical neurons: tied output spikes
    kw = dict(tau_syn_ms=5.0, tau_mem_ms=10.0, backend="numba")
    res = []
    for handoff in (True, False):
        tt, a1, a2 = (x.clone().requires_grad_(True) for x in (t, w1, w2))
        h = spike_times(tt, a1, **kw)
        assert fused._handoff(h, torch.float64) is not None  # every output carries its sorted spikes
        out = spike_times(h if handoff else h.clone(), a2, **kw)
        out.masked_fill(~torch.isfinite(out), 0.0).sum().backward()
        res.append((out.detach(), tt.grad, a1.grad, a2.grad))
    fire = torch.isfinite(res[0][0])
    assert 0.2 < fire.float().mean() < 0.98 and bool((h[:, 2] == h[:, 3]).any())
    for x, y in zip(*res):
        assert torch.equal(x, y)
    h = spike_times(t, w1, **kw)
    h.add_(0.0)
    assert fused._handoff(h, torch.float64) is None


@needs_numba
def test_handoff_is_in_time_order_when_a_whole_layer_fires_in_one_interval():
    """Where most of a layer fires after its last input (one interval, spikes emitted by neuron, not by time:
    the kernel sorts such an interval's spikes in one go), the handed-off spikes are still in exact
    (time, index) order, ties included, and the next layer gives the same bits as with a re-sort."""
    g = torch.Generator().manual_seed(4)
    t = torch.rand(6, 30, generator=g, dtype=torch.float64) * 2.0  # every input early, within 2 ms
    w1 = torch.rand(30, 300, generator=g, dtype=torch.float64) * 0.2 + 0.05
    w1[:, 11] = w1[:, 7]  # tied output spikes inside the big interval
    w2 = torch.randn(300, 20, generator=g, dtype=torch.float64) * 0.05 + 0.02
    kw = dict(tau_syn_ms=5.0, tau_mem_ms=10.0, backend="numba")
    h = spike_times(t, w1, **kw)
    after_last = torch.isfinite(h) & (h > t.max(dim=1, keepdim=True).values)
    assert after_last.sum(dim=1).min() > 100  # the big-interval path is taken in every sample
    ts, order, nfin = fused._handoff(h, torch.float64)
    for b in range(h.shape[0]):
        n = int(nfin[b])
        fin = torch.nonzero(torch.isfinite(h[b])).flatten()
        want = sorted(fin.tolist(), key=lambda i: (float(h[b, i]), i))
        assert n == len(want) and order[b, :n].tolist() == want
        assert torch.equal(ts[b, :n], h[b, order[b, :n]])
    assert bool((h[:, 7] == h[:, 11]).all())
    assert torch.equal(spike_times(h, w2, **kw), spike_times(h.clone(), w2, **kw))


def test_works_without_numba_installed():
    """In a process where numba cannot be imported: 'auto' runs the torch path, 'numba' is an ImportError."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import sys, importlib.abc
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] in ("numba", "llvmlite"):
                    raise ImportError("blocked " + name)
        sys.meta_path.insert(0, Block())
        import torch
        from synsem_ephys.sim import spike_times
        from synsem_ephys.sim.ttfs import available_backends
        t = torch.tensor([[1.0, 2.0, float("inf")]], dtype=torch.float64)
        w = torch.tensor([[5.0], [5.0], [1.0]], dtype=torch.float64)
        out = spike_times(t, w, tau_syn_ms=5.0, tau_mem_ms=10.0)
        assert available_backends() == ("torch",) and torch.isfinite(out).all()
        try:
            spike_times(t, w, tau_syn_ms=5.0, tau_mem_ms=10.0, backend="numba")
        except ImportError as exc:
            assert str(exc).startswith("backend: "), exc
        else:
            raise AssertionError("no error")
        assert "numba" not in sys.modules
        print("ok")
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr
