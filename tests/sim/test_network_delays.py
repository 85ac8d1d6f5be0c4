"""Network layers with learnable delays: the spec fields, d = d_max sigmoid(theta), exact gradients, files.

No delays must stay exactly what it was: the same JSON, the same file entries, the same forward (the shipped
networks load and give the outputs of the plain layer-by-layer kernel calls, bit for bit).
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from synsem_ephys.errors import DataFormatError, SpecError
from synsem_ephys.sim import Network, spike_times
from synsem_ephys.spec import DELAY_KINDS, NetworkSpec

DATA = Path(__file__).resolve().parents[2] / "synsem_ephys" / "data"


def spec(delays=None, **kw):
    base = dict(n_inputs=6, hidden=((4, 2), (3, 1)), n_outputs=3, tau_syn_ms=5.0, tau_mem_ms=10.0)
    base.update(kw)
    return NetworkSpec(**base, delays=delays, delay_max_ms=4.0 if delays is not None else None)


def inputs(batch=12, n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, n, generator=g, dtype=torch.float64) * 8.0


def chain(net, x, delays=True):
    """The layers as plain spike_times calls (the reference of the forward)."""
    out, t = [], x
    for l, W in enumerate(net.weights):
        d = net.delays_ms(l) if delays else None
        kw = {} if d is None else {"delays_ms": d}
        t = spike_times(t, W, tau_syn_ms=net.spec.tau_syn_ms, tau_mem_ms=net.spec.tau_mem_ms,
                        threshold=net.spec.threshold, **kw)
        out.append(t)
    return out


# ------------------------------------------------------------------------------------------------ spec
def test_spec_delay_fields_json_round_trip_and_old_json():
    s = spec(["axonal", "synaptic", "dendritic"])
    assert s.delays == ("axonal", "synaptic", "dendritic") and s.delay_max_ms == (4.0, 4.0, 4.0)
    assert s.has_delays and [s.delay_kind(l) for l in range(3)] == ["axonal", "synaptic", "dendritic"]
    back = NetworkSpec.from_json(s.to_json())
    assert back == s and back.delays == s.delays
    # no delays: the JSON has no delay keys (what it was before delays existed), and old JSON still loads
    s0 = spec()
    d0 = json.loads(s0.to_json())
    assert "delays" not in d0 and "delay_max_ms" not in d0
    assert NetworkSpec.from_json(s0.to_json()) == s0
    assert NetworkSpec(6, hidden=((4, 2), (3, 1)), n_outputs=3, delays="none") == s0  # all "none" = None
    one = NetworkSpec(6, hidden=((4, 2),), n_outputs=3, delays="axonal")  # one kind for every matrix
    assert one.delays == ("axonal", "axonal") and one.delay_max_ms == (5.0, 5.0)  # default d_max = tau_syn
    assert s != spec(["axonal", "synaptic", "none"])
    assert NetworkSpec(6, hidden=((4, 2),), n_outputs=3, delays="axonal", delay_max_ms=[1, 2.5]).delay_max_ms == (1.0, 2.5)
    assert set(DELAY_KINDS) == {"none", "axonal", "dendritic", "synaptic"}


@pytest.mark.parametrize("kw, match", [
    (dict(delays="soma"), "delays"), (dict(delays=["axonal"]), "delays"), (dict(delays=[1, 2]), "delays"),
    (dict(delay_max_ms=2.0), "delay_max_ms"), (dict(delays="axonal", delay_max_ms=0.0), "delay_max_ms"),
    (dict(delays="axonal", delay_max_ms=[1.0]), "delay_max_ms"),
    (dict(delays="axonal", delay_max_ms="2"), "delay_max_ms"),
    (dict(delays="axonal", delay_max_ms=math.inf), "delay_max_ms"),
])
def test_spec_delay_errors(kw, match):
    with pytest.raises(SpecError, match=match):
        NetworkSpec(6, hidden=((4, 2),), n_outputs=3, **kw)


# ------------------------------------------------------------------------------------------------ no delays
def test_no_delays_is_the_plain_kernel_bit_for_bit_and_has_no_delay_parameters():
    net = Network(spec(), seed=3, weight_init=((3.0, 1.0),))
    assert len(net.delay_theta) == 0 and len(list(net.parameters())) == 3
    assert [net.delays_ms(l) for l in range(3)] == [None] * 3 and net.delays_numpy() == [None] * 3
    assert "delay_theta" not in net.state()
    x = inputs()
    for a, b in zip(net(x), chain(net, x)):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", ["digits_dale.pt", "mnist_dale.pt"])
def test_shipped_networks_load_unchanged_and_give_the_plain_kernel_outputs(name):
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{name} not shipped in this checkout")
    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert "delay_theta" not in raw
    net = Network.load(path)
    assert not net.spec.has_delays and len(net.delay_theta) == 0
    assert json.loads(net.spec.to_json()) == json.loads(raw["spec"])  # the spec JSON is unchanged too
    for W, w in zip(net.weights, raw["weights"]):
        assert torch.equal(W.detach(), w.to(torch.float64))
    g = torch.Generator().manual_seed(0)
    n = net.spec.n_inputs
    x = torch.where(torch.rand(8, n, generator=g) < 0.3, torch.rand(8, n, generator=g, dtype=torch.float64) * 10.0,
                    torch.full((8, n), math.inf, dtype=torch.float64))
    out = net(x)
    assert bool(torch.isfinite(out[0]).any())
    for a, b in zip(out, chain(net, x, delays=False)):
        assert torch.equal(a, b)


def test_adding_delays_keeps_the_initial_weights():
    a = Network(spec(), seed=11)
    b = Network(spec("synaptic"), seed=11)
    assert all(torch.equal(x, y) for x, y in zip(a.weights, b.weights))


# ------------------------------------------------------------------------------------------------ delays
@pytest.mark.parametrize("init", ["normal", "uniform", "half"])
def test_delay_parametrisation_bounds_and_initialisation(init):
    net = Network(spec(["axonal", "dendritic", "synaptic"]), seed=2, delay_init=init)
    shapes = [tuple(net.delays_ms(l).shape) for l in range(3)]
    assert shapes == [(6, 1), (1, 4), (4, 3)]
    for l in range(3):
        d = net.delays_ms(l)
        assert bool(((d > 0) & (d < 4.0)).all())
        if init == "half":
            assert torch.equal(d, torch.full_like(d, 2.0))
    with torch.no_grad():  # the bound holds whatever theta becomes
        for theta in net.delay_theta.values():
            theta.copy_(torch.linspace(-800, 800, theta.numel()).reshape(theta.shape))
    for l in range(3):
        d = net.delays_ms(l)
        assert float(d.detach().min()) >= 0.0 and float(d.detach().max()) <= 4.0
    assert np.array_equal(net.delays_numpy()[2], net.delays_ms(2).detach().numpy())
    assert net.delays_numpy()[0].shape == (6, 6) and net.delays_numpy()[1].shape == (6, 4)  # broadcast
    with pytest.raises(SpecError, match="delay_init"):
        Network(spec("axonal"), delay_init="gamma")


def test_set_delays_round_trip_and_errors():
    net = Network(spec(["axonal", "none", "synaptic"]), seed=0)
    d = torch.tensor([[0.5], [1.0], [1.5], [2.0], [3.0], [3.9]], dtype=torch.float64)
    net.set_delays_(0, d)
    assert torch.allclose(net.delays_ms(0), d, rtol=0, atol=1e-12)
    with pytest.raises(SpecError, match="layer"):
        net.set_delays_(1, d)
    with pytest.raises(SpecError, match="delays_ms"):
        net.set_delays_(0, d * 2)  # 7.8 > d_max = 4


@pytest.mark.parametrize("kinds", [["axonal", "axonal", "axonal"], ["dendritic", "none", "dendritic"],
                                   ["synaptic", "synaptic", "none"], ["none", "synaptic", "axonal"]])
def test_forward_with_delays_is_spike_times_with_the_delays(kinds):
    net = Network(spec(kinds), seed=4, weight_init=((3.0, 1.0),), delay_init="uniform")
    x = inputs()
    out = net(x)
    for a, b in zip(out, chain(net, x)):
        assert torch.equal(a, b)
    assert any(bool(torch.isfinite(o).any()) for o in out[-1:])
    ref = Network(spec(), seed=4, weight_init=((3.0, 1.0),))  # delays do change the spikes
    assert not all(torch.equal(a, b) for a, b in zip(out, ref(x)))


def test_uniform_axonal_delay_shifts_the_first_layer():
    net = Network(spec(["axonal", "none", "none"]), seed=4, weight_init=((3.0, 1.0),))
    net.set_delays_(0, torch.full((6, 1), 1.25, dtype=torch.float64))
    x = inputs()
    ref = Network(spec(), seed=4, weight_init=((3.0, 1.0),))
    a, b = net(x)[0], ref(x + 1.25)[0]
    assert torch.equal(torch.isfinite(a), torch.isfinite(b)) and torch.allclose(a[torch.isfinite(a)], b[torch.isfinite(b)])


@pytest.mark.parametrize("kind", ["axonal", "dendritic", "synaptic"])
@pytest.mark.parametrize("ratio", [1.0, 2.0])
def test_gradient_wrt_theta_matches_finite_differences(kind, ratio):
    s = NetworkSpec(5, hidden=((4, 0),), n_outputs=3, dale=False, tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio,
                    delays=[kind, kind], delay_max_ms=3.0)
    net = Network(s, seed=1, weight_init=((4.0, 1.0),), delay_init="uniform")
    x = inputs(batch=6, n=5, seed=2)
    out = net(x)[-1]
    fin = torch.isfinite(out)
    assert int(fin.sum()) >= 3
    weights = torch.linspace(0.5, 1.5, out.numel(), dtype=torch.float64).reshape(out.shape)

    def loss():
        o = net(x)[-1]
        return (torch.where(fin, o, torch.zeros_like(o)) * weights).sum()

    theta = net.delay_theta["0"]
    g = torch.autograd.grad(loss(), theta)[0]
    eps = 1e-6
    num = torch.zeros_like(theta)
    with torch.no_grad():
        for idx in np.ndindex(*theta.shape):
            keep = float(theta[idx])
            theta[idx] = keep + eps
            up = float(loss())
            theta[idx] = keep - eps
            dn = float(loss())
            theta[idx] = keep
            num[idx] = (up - dn) / (2 * eps)
    assert torch.allclose(g, num, rtol=1e-5, atol=1e-7), (g, num)
    assert float(g.abs().max()) > 0


def test_save_load_round_trip_with_delays_and_corrupt_delay_entries(tmp_path):
    net = Network(spec(["synaptic", "axonal", "none"]), seed=5, delay_init="uniform")
    p = tmp_path / "net.pt"
    net.save(p, extra={"a": 1})
    back = Network.load(p)
    assert back.spec == net.spec and back.extra == {"a": 1}
    assert sorted(back.delay_theta) == ["0", "1"]
    for k in net.delay_theta:
        assert torch.equal(back.delay_theta[k], net.delay_theta[k])
    x = inputs()
    for a, b in zip(net(x), back(x)):
        assert torch.equal(a, b)
    # a file whose delay entries do not match its spec is refused, naming the problem
    obj = torch.load(p, weights_only=True)
    del obj["sha256"]
    missing = dict(obj, delay_theta={"0": obj["delay_theta"]["0"]})
    torch.save(missing, tmp_path / "missing.pt")
    with pytest.raises(DataFormatError, match="delays"):
        Network.load(tmp_path / "missing.pt")
    shaped = dict(obj, delay_theta={"0": obj["delay_theta"]["0"], "1": torch.zeros(3, 3, dtype=torch.float64)})
    torch.save(shaped, tmp_path / "shaped.pt")
    with pytest.raises(DataFormatError, match="shape"):
        Network.load(tmp_path / "shaped.pt")
    # the spec (with its delay kinds and bounds) travels in a record's meta
    rec = net.record(x)
    assert NetworkSpec.from_json(rec.meta["spec"]) == net.spec


def test_membrane_trace_with_delays_reaches_threshold_at_the_spike():
    net = Network(spec(["synaptic", "synaptic", "dendritic"]), seed=6, weight_init=((3.0, 1.0),),
                  delay_init="uniform")
    x = inputs(batch=4)
    out = net(x)
    for layer in (1, 2, 3):
        t = out[layer - 1].detach()
        b, u = [int(v) for v in torch.nonzero(torch.isfinite(t))[0]]
        v = net.membrane_trace(x[b:b + 1], layer, [u], [float(t[b, u])])
        assert abs(v[0, 0, 0] - net.spec.threshold) < 1e-8


def test_from_weights_with_delays():
    s = spec(["axonal", "none", "synaptic"])
    src = Network(s, seed=8, delay_init="uniform")
    ws = [W.detach().numpy() for W in src.weights]
    ds = [src.delays_ms(0).detach().numpy(), None, src.delays_ms(2).detach()]
    net = Network.from_weights(s, ws, delays_ms=ds)
    x = inputs()
    for a, b in zip(net(x), src(x)):
        assert torch.allclose(a[torch.isfinite(a)], b[torch.isfinite(b)], rtol=0, atol=1e-9)
    with pytest.raises(SpecError, match="delays_ms"):
        Network.from_weights(s, ws, delays_ms=[None])


# ------------------------------------------------------------------------------------------------ rounding
def test_rounded_delays_are_the_nearest_grid_point_within_the_bounds():
    net = Network(spec(["synaptic", "axonal", "dendritic"]), seed=2, weight_init=((3.0, 1.0),), delay_init="uniform")
    x = inputs()
    cont = [net.delays_ms(l).detach().clone() for l in range(3)]
    plain = net(x)
    for q in (1.0, 0.3, 1.5):
        with net.rounded_delays(q):
            assert net.round_delays_ms == q
            top = math.floor(4.0 / q * (1 + 1e-12)) * q  # d_max = 4 ms
            for l in range(3):
                d = net.delays_ms(l)
                k = d / q
                assert torch.allclose(k, k.round(), rtol=0, atol=1e-12)  # on the grid
                assert bool((d >= 0).all()) and bool((d <= top + 1e-12).all())
                # nearest grid point in [0, top]: no other point is closer
                assert bool((((d - cont[l]).abs() <= q / 2 + 1e-12) | ((d == top) & (cont[l] > top))).all())
                assert not d.requires_grad
                net.round_delays_ms = None
                again = net.delays_ms(l)
                net.round_delays_ms = q
                assert torch.equal(again, cont[l])  # theta unchanged
            for a, b in zip(net(x), chain(net, x)):  # the forward uses the rounded delays
                assert torch.equal(a, b)
            assert np.array_equal(net.delays_numpy()[2], np.broadcast_to(net.delays_ms(2).numpy(), (4, 3)))
    assert net.round_delays_ms is None and all(torch.equal(a, b) for a, b in zip(net(x), plain))
    # idempotent: rounding rounded delays changes nothing
    with net.rounded_delays(0.5):
        d1 = net.delays_ms(0)
    net.set_delays_(0, d1.clamp(0.01, 3.99))
    with net.rounded_delays(0.5):
        assert torch.equal(net.delays_ms(0), d1)
    for bad in (0.0, -1.0, float("nan"), "1", True):
        with pytest.raises(SpecError, match="round_delays_ms"):
            net.round_delays_ms = bad


def test_record_meta_holds_the_delays_and_files_keep_them(tmp_path):
    from synsem_ephys.analysis.ei_structure import record_delays
    from synsem_ephys.io import from_block, read_nix_record, to_block, write_nix
    from synsem_ephys.io.nwb import read_nwb, write_nwb

    net = Network(spec(["synaptic", "none", "axonal"]), seed=1, weight_init=((3.0, 1.0),), delay_init="uniform")
    x = inputs(8)
    rec = net.record(x, labels=np.arange(8) % 3, trial_duration_ms=60.0)
    want = net.delays_numpy()
    assert rec.meta["delays_ms"][1] is None and np.array_equal(np.asarray(rec.meta["delays_ms"][2]),
                                                               net.delays_ms(2).detach().numpy())
    assert "round_delays_ms" not in rec.meta
    back = [from_block(to_block(rec)), read_nix_record(write_nix(rec, tmp_path / "r.nix")),
            read_nwb(write_nwb(rec, tmp_path / "r.nwb"))]
    for r in [rec] + back:
        got = record_delays(r.meta)
        assert got[1] is None and all(np.array_equal(got[l], want[l]) for l in (0, 2))  # bit for bit
        assert got[0].shape == (6, 6) and got[2].shape == (4, 3)
    with net.rounded_delays(1.0):
        rounded = net.record(x, trial_duration_ms=60.0)
    assert rounded.meta["round_delays_ms"] == 1.0
    assert np.array_equal(record_delays(rounded.meta)[0], np.round(want[0]))
    plain = Network(spec(), seed=1).record(x, trial_duration_ms=60.0)
    assert "delays_ms" not in plain.meta and record_delays(plain.meta) is None


def test_record_without_delays_in_meta_and_files_keep_the_choice(tmp_path):
    from synsem_ephys.analysis.ei_structure import record_delays
    from synsem_ephys.io import read_nix_record, write_nix
    from synsem_ephys.io.nwb import read_nwb, write_nwb

    net = Network(spec(["synaptic", "none", "axonal"]), seed=1, weight_init=((3.0, 1.0),), delay_init="uniform")
    x = inputs(8)
    with_d = net.record(x, trial_duration_ms=60.0, delays_in_meta=True)
    without = net.record(x, trial_duration_ms=60.0, delays_in_meta=False)
    assert "delays_ms" in with_d.meta and "delays_in_meta" not in with_d.meta
    assert "delays_ms" not in without.meta and without.meta["delays_in_meta"] is False
    assert np.array_equal(with_d.times_ms, without.times_ms)  # the same simulation
    with net.rounded_delays(1.0):
        assert "round_delays_ms" not in net.record(x, trial_duration_ms=60.0, delays_in_meta=False).meta
    for rec, has in ((with_d, True), (without, False)):
        for back in (read_nix_record(write_nix(rec, tmp_path / f"{has}.nix")),
                     read_nwb(write_nwb(rec, tmp_path / f"{has}.nwb"))):
            assert ("delays_ms" in back.meta) is has and back.meta.get("delays_in_meta", True) is has
            got = record_delays(back.meta)
            assert (got is None) is not has
            if has:
                assert all(np.array_equal(got[l], net.delays_numpy()[l]) for l in (0, 2))
    # the size: about 20 bytes of JSON per delay (Network.record's docstring), here 60 x 40 synaptic delays
    big = Network(spec(["synaptic", "none", "none"], n_inputs=60, hidden=((30, 10), (3, 1))), seed=1,
                  delay_init="uniform")
    sizes = [write_nix(big.record(inputs(4, 60), trial_duration_ms=60.0, delays_in_meta=k),
                       tmp_path / f"big{k}.nix").stat().st_size for k in (True, False)]
    assert 15 * 2400 < sizes[0] - sizes[1] < 25 * 2400
    plain = Network(spec(), seed=1)
    assert plain.record(x, trial_duration_ms=60.0, delays_in_meta=False).meta == \
        plain.record(x, trial_duration_ms=60.0).meta  # nothing changes without delays
    with pytest.raises(ValueError, match="delays_in_meta: expected True or False; got 'no'"):
        net.record(x, delays_in_meta="no")
