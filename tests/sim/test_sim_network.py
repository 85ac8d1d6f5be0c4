"""Network of layers: Dale's law, recording, properties, save/load, membrane traces, clear errors."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from synsem_ephys.errors import DataFormatError, SpecError
from synsem_ephys.sim import Network, spike_times
from synsem_ephys.spec import NetworkSpec

import reference_lif as ref


def small_spec(**kw):
    base = dict(n_inputs=12, hidden=((6, 2), (6, 2)), n_outputs=3, tau_syn_ms=5.0, tau_mem_ms=10.0)
    base.update(kw)
    return NetworkSpec(**base)


def inputs(batch=16, n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, n, generator=g, dtype=torch.float64) * 10.0


def test_forward_returns_every_layer_and_matches_per_layer_calls():
    net = Network(small_spec(), seed=3, weight_init=((3.0, 1.0),))
    x = inputs()
    out = net(x)
    assert [o.shape for o in out] == [(16, 8), (16, 8), (16, 3)]
    h = x
    for W, o in zip(net.weights, out):
        h = spike_times(h, W, tau_syn_ms=5.0, tau_mem_ms=10.0)
        assert torch.equal(torch.isfinite(h), torch.isfinite(o))
        assert torch.allclose(h[torch.isfinite(h)], o[torch.isfinite(o)])


def test_network_against_reference_layer_by_layer():
    net = Network(small_spec(tau_mem_ms=5.0), seed=5, weight_init=((3.0, 1.5),))
    x = inputs(batch=3)
    out = net(x)
    h = x.numpy()
    for W, o in zip(net.weights, out):
        want, margin = ref.layer(h, W.detach().numpy(), 5.0, 5.0, 1.0)
        clear = margin > 1e-7
        assert np.array_equal(np.isfinite(want)[clear], np.isfinite(o.detach().numpy())[clear])
        both = np.isfinite(want) & np.isfinite(o.detach().numpy())
        assert np.allclose(want[both], o.detach().numpy()[both], atol=1e-9, rtol=0)
        h = want


def test_dale_signs_at_init_and_after_optimizer_steps():
    spec = small_spec()
    net = Network(spec, seed=0, weight_init=((3.0, 1.0),))
    for l in range(1, spec.n_layers):
        s = net.sign(l)
        W = net.weights[l]
        assert (W[s > 0] >= 0).all() and (W[s < 0] <= 0).all()
    opt = torch.optim.Adam(net.parameters(), lr=0.5)
    x = inputs()
    for _ in range(5):
        out = net(x)[-1]
        loss = torch.where(torch.isfinite(out), out, torch.zeros_like(out)).sum() - sum(W.sum() for W in net.weights) * 10
        opt.zero_grad()
        loss.backward()
        opt.step()
        net.enforce_dale_()
        assert net.dale_violations() == 0
    # without enforcement a large step does break Dale's law: the check can fail
    with torch.no_grad():
        net.weights[1][net.sign(1) > 0] -= 100.0
    assert net.dale_violations() > 0
    net.enforce_dale_()
    assert net.dale_violations() == 0
    # input layer is unconstrained
    assert (net.sign(0) == 0).all()


@settings(max_examples=25, deadline=None)
@given(shift=st.floats(-3.0, 50.0), seed=st.integers(0, 10_000), ratio=st.sampled_from([1.0, 2.0]))
def test_time_shift_equivariance(shift, seed, ratio):
    net = Network(small_spec(tau_mem_ms=5.0 * ratio), seed=seed, weight_init=((3.0, 1.0),))
    x = inputs(batch=4, seed=seed) + 5.0
    a = net(x)[-1]
    b = net(x + shift)[-1]
    assert torch.equal(torch.isfinite(a), torch.isfinite(b))
    fin = torch.isfinite(a)
    assert torch.allclose(b[fin], a[fin] + shift, atol=1e-9, rtol=0)


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(1.0, 5.0), seed=st.integers(0, 10_000), ratio=st.sampled_from([1.0, 2.0]))
def test_scaling_weights_up_never_delays_a_spike(scale, seed, ratio):
    g = torch.Generator().manual_seed(seed)
    t = torch.rand(4, 9, generator=g, dtype=torch.float64) * 10
    w = torch.randn(9, 5, generator=g, dtype=torch.float64)
    kw = dict(tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio)
    a = spike_times(t, w, **kw)
    b = spike_times(t, w * scale, **kw)
    assert torch.all(b <= a + 1e-9)


def test_save_load_round_trip(tmp_path):
    net = Network(small_spec(), seed=7)
    p = tmp_path / "net.pt"
    net.save(p, extra={"accuracy": 0.5})
    back = Network.load(p)
    assert back.spec == net.spec and back.extra == {"accuracy": 0.5}
    for a, b in zip(net.weights, back.weights):
        assert torch.equal(a, b)
    assert not list(tmp_path.glob(".tmp-*"))
    (tmp_path / "bad.pt").write_bytes(b"not a network")
    with pytest.raises(DataFormatError, match="path"):
        Network.load(tmp_path / "bad.pt")
    with pytest.raises(FileNotFoundError, match="path"):
        Network.load(tmp_path / "missing.pt")


def test_spec_json_round_trip_and_populations():
    spec = NetworkSpec(784)
    assert NetworkSpec.from_json(spec.to_json()) == spec
    pops = spec.populations()
    assert [p.name for p in pops][:3] == ["input", "hidden1_E", "hidden1_I"]
    assert sum(p.size for p in pops) == 784 + 4 * 400 + 10
    with pytest.raises(SpecError, match="unknown keys"):
        NetworkSpec.from_dict({"n_inputs": 3, "bogus": 1})


def test_membrane_trace_reaches_threshold_at_spike_time():
    net = Network(small_spec(), seed=2, weight_init=((3.0, 1.0),))
    x = inputs(batch=2)
    t1 = net(x)[0].detach()
    b, n = [int(v) for v in torch.nonzero(torch.isfinite(t1))[0]]
    ts = float(t1[b, n])
    v = net.membrane_trace(x, 1, [n], [ts - 1e-3, ts, ts + 1e-3])
    assert abs(v[b, 0, 1] - 1.0) < 1e-9 and v[b, 0, 0] < 1.0
    grid = np.linspace(0, ts, 400, endpoint=False)
    assert net.membrane_trace(x, 1, [n], grid)[b, 0].max() < 1.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(tau_syn_ms=5.0, tau_mem_ms=7.0), "tau_mem_ms / tau_syn_ms"),
        (dict(tau_syn_ms=-5.0, tau_mem_ms=10.0), "tau_syn_ms"),
        (dict(tau_syn_ms=5.0, tau_mem_ms=10.0, threshold=0.0), "threshold"),
    ],
)
def test_clear_errors_for_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        spike_times(torch.zeros(1, 2, dtype=torch.float64), torch.ones(2, 1, dtype=torch.float64), **kwargs)


def test_clear_errors_for_bad_tensors():
    kw = dict(tau_syn_ms=5.0, tau_mem_ms=10.0)
    t = torch.zeros(2, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"weights: expected shape \(n_in, n_out\)"):
        spike_times(t, torch.ones(4, 2, dtype=torch.float64), **kw)
    with pytest.raises(ValueError, match="input_times_ms: expected a 2-D"):
        spike_times(torch.zeros(3, dtype=torch.float64), torch.ones(3, 2, dtype=torch.float64), **kw)
    with pytest.raises(ValueError, match="weights: expected finite"):
        spike_times(t, torch.tensor([[1.0], [math.nan], [0.0]], dtype=torch.float64), **kw)
    with pytest.raises(ValueError, match="input_times_ms: expected finite times or \\+inf"):
        spike_times(torch.tensor([[0.0, math.nan, 1.0]], dtype=torch.float64), torch.ones(3, 1, dtype=torch.float64), **kw)
    with pytest.raises(ValueError, match="dtype"):
        spike_times(t, torch.ones(3, 2, dtype=torch.float32), **kw)
    with pytest.raises(ValueError, match="input_times_ms: expected shape"):
        Network(small_spec())(torch.zeros(2, 5, dtype=torch.float64))
    with pytest.raises(SpecError, match="hidden"):
        NetworkSpec(4, hidden=((3, 1),), dale=False)


def test_record_is_a_spike_record_with_every_layer():
    net = Network(small_spec(), seed=2, weight_init=((3.0, 1.0),))
    x = inputs(batch=5)
    labels = np.array([0, 1, 2, 0, 1])
    rec = net.record(x, labels=labels, meta={"seed": 2})
    outs = [x] + [o.detach() for o in net(x)]
    assert rec.n_trials == 5 and rec.n_units == sum(o.shape[1] for o in outs)
    assert int(np.isfinite(np.concatenate([o.numpy() for o in outs], axis=1)).sum()) == rec.times_ms.size
    assert np.array_equal(rec.trials.label, labels)
    assert np.array_equal(rec.trials.prediction, net.predict(x).numpy())
    assert set(rec.units.cell_type) >= {"input", "E", "I", "output"}


def test_record_of_zero_trials_is_an_empty_record_and_bad_shapes_name_the_argument():
    net = Network(small_spec(), seed=2)
    n_in = small_spec().layer_sizes[0]
    rec = net.record(np.zeros((0, n_in)))
    assert rec.n_trials == 0 and rec.n_spikes == 0 and rec.n_units == sum(small_spec().layer_sizes)
    for bad in (np.zeros(n_in), np.zeros((2, n_in + 1))):
        with pytest.raises(ValueError, match=r"^input_times_ms: expected an array of shape \(n_trials, "):
            net.record(bad)
    with pytest.raises(ValueError, match="^batch_size:"):
        net.record(np.zeros((2, n_in)), batch_size=0)


def test_weights_numpy_round_trips_through_from_weights():
    spec = NetworkSpec(6, hidden=((4, 2),), n_outputs=3)
    net = Network(spec, seed=3)
    ws, signs = net.weights_numpy()
    assert [w.dtype for w in ws] == [np.float64] * 2 and [s.dtype for s in signs] == [np.int64] * 2
    assert signs[1].tolist() == [1, 1, 1, 1, -1, -1] and set(signs[0].tolist()) == {0}
    ws[0][0, 0] += 1.0  # a copy: the network is not changed through it
    assert net.weights[0][0, 0].item() != ws[0][0, 0]
    back = Network.from_weights(spec, net.weights_numpy()[0])
    t = torch.rand(5, 6, dtype=torch.float64) * 10
    assert all(torch.equal(a, b) for a, b in zip(net(t), back(t)))
    assert torch.equal(net.predict(t), back.predict(t))
