"""Recordings of other simulators (Brian2, NEST, PyNN on NEST, snnTorch spike tensors) and NIR graphs.

Every test runs the real simulator on a tiny network (a few neurons, tens of ms) and checks that the
record holds exactly the spikes that the simulator reported (times, senders, trials, populations). A
simulator that is not installed, or that is installed but does not import, skips its tests with the
reason. The ``run_*`` functions are also the conformance suite's sources (tests/adapters/test_conformance.py).
"""

import importlib
import os
import warnings

import numpy as np
import pytest

from synsem_ephys.adapters import CONVERTERS, get_converter
from synsem_ephys.adapters.pynn import record_from_populations
from synsem_ephys.spec import unit_name

os.environ.setdefault("PYNEST_QUIET", "1")  # NEST's start-up banner


def import_or_skip(name, package=None):
    """Import ``name``; skip (with the reason) when it is not installed or fails to import."""
    try:
        return pytest.importorskip(name, reason=f"{name} is not installed (pip install {package or name})")
    except pytest.skip.Exception:
        raise
    except Exception as exc:  # installed but broken, e.g. brian2 2.9 on numpy >= 2.4 (no ndarray.ptp)
        import numpy

        hint = (" (on Python 3.11 run these tests in an environment of pip install -e '.[test,brian2]', which takes "
                "Brian2 2.9 with numpy < 2.4)" if name == "brian2" else "")
        pytest.skip(f"{name} is installed but does not import with numpy {numpy.__version__}: "
                    f"{type(exc).__name__}: {exc}{hint}")


def _spikes(rec):
    """Set of (unit name, trial, time) of a record."""
    return sorted(zip(rec.units.name[rec.unit_index].tolist(), rec.trial_index.tolist(), rec.times_ms.tolist()))


# ---------------------------------------------------------------------------------------- Brian2
def run_brian2(runs=1):
    """Two groups (5 exc, 3 inh, exc -> inh synapses), 30 ms; one run cut at 0/10/20 ms, or ``runs`` fresh runs.

    Returns the record and, per run, ``{group: (i, t_ms)}`` as the monitors report them.
    """
    b2 = import_or_skip("brian2")
    from synsem_ephys.adapters.brian2 import from_brian2

    b2.prefs.codegen.target = "numpy"  # no compilation: a tiny network runs in well under a second

    def one(drive):
        exc = b2.NeuronGroup(5, "dv/dt = (I - v) / (10*ms) : 1\nI : 1", threshold="v > 1", reset="v = 0",
                             method="exact", name="exc")
        exc.I = np.array([0.9, 1.3, 1.6, 2.0, 2.5]) * drive  # exc_0 stays below threshold: a silent unit
        inh = b2.NeuronGroup(3, "dv/dt = (I - v) / (5*ms) : 1\nI : 1", threshold="v > 1", reset="v = 0",
                             method="exact", name="inh")
        inh.I = [0.5, 1.2, 1.8]
        syn = b2.Synapses(exc, inh, on_pre="v_post += 0.2")
        syn.connect()
        mons = [b2.SpikeMonitor(exc), b2.SpikeMonitor(inh)]
        b2.Network(exc, inh, syn, *mons).run(30 * b2.ms)
        return mons

    all_mons = [one(1.0 + 0.1 * r) for r in range(runs)]
    raw = [{m.source.name: (np.asarray(m.i[:]), np.asarray(m.t_[:]) * 1000.0, np.asarray(m.t / b2.ms)) for m in mons}
           for mons in all_mons]
    if runs == 1:
        return from_brian2(all_mons[0], trials=[0.0, 10.0, 20.0]), raw
    return from_brian2(all_mons, labels=np.arange(runs) % 2, label_names=["a", "b"]), raw


def test_brian2_one_run_cut_into_trials():
    rec, raw = run_brian2()
    b2 = importlib.import_module("brian2")
    assert rec.units.population.tolist() == ["exc"] * 5 + ["inh"] * 3
    assert rec.units.name.tolist()[:2] == ["exc_0", "exc_1"] and rec.n_trials == 3 and rec.trial_duration_ms == 10.0
    np.testing.assert_array_equal(rec.trials.columns["source_start_ms"], [0.0, 10.0, 20.0])
    expected = []
    for group, (i, t, t_q) in raw[0].items():
        np.testing.assert_allclose(t, t_q, rtol=1e-12)
        for k, tk in zip(i.tolist(), t.tolist()):
            r = [s for s in (0.0, 10.0, 20.0) if s <= tk][-1]
            expected.append((unit_name(group, k), int(r // 10), tk - r))
    assert len(expected) == rec.n_spikes > 20
    assert sorted(expected) == _spikes(rec)
    assert rec.count_matrix().max() > 1  # several spikes per neuron per trial are kept
    assert rec.count_matrix()[:, 0].sum() == 0  # exc_0 is silent but a unit
    assert rec.meta["simulator"] == "brian2" and rec.meta["simulator_version"] == b2.__version__
    assert rec.meta["dt_ms"] == 0.1
    assert [p["name"] for p in rec.meta["populations"]] == ["exc", "inh"]
    assert rec.meta["populations"][1] == {"name": "inh", "size": 3, "first_unit": 5, "first_id": 5, "last_id": 7}


def test_brian2_repeated_runs_are_trials():
    rec, raw = run_brian2(runs=2)
    assert rec.n_trials == 2 and rec.trial_duration_ms == 30.0
    np.testing.assert_array_equal(rec.trials.columns["run"], [0, 1])
    np.testing.assert_array_equal(rec.trials.label, [0, 1])
    expected = [(unit_name(g, k), r, tk) for r, run in enumerate(raw) for g, (i, t, _) in run.items()
                for k, tk in zip(i.tolist(), t.tolist())]
    assert sorted(expected) == _spikes(rec)
    assert not np.array_equal(rec.count_matrix()[0], rec.count_matrix()[1])  # the drives differ


def test_brian2_refuses_what_it_cannot_keep():
    b2 = import_or_skip("brian2")
    from synsem_ephys.adapters.brian2 import from_brian2

    b2.prefs.codegen.target = "numpy"
    g = b2.NeuronGroup(2, "dv/dt = (1.5 - v) / (10*ms) : 1", threshold="v > 1", reset="v = 0", method="exact",
                       name="solo")
    m = b2.SpikeMonitor(g)
    b2.Network(g, m).run(30 * b2.ms)
    with pytest.raises(ValueError, match=r"trials: expected every spike inside a trial window.*never dropped"):
        from_brian2(m, trials=[15.0])  # the first spikes, at 11 ms, would be lost
    with pytest.raises(ValueError, match="trial_duration_ms: expected at most the smallest gap"):
        from_brian2(m, trials=[0.0, 10.0], trial_duration_ms=12.0)
    with pytest.raises(ValueError, match="monitors: expected one SpikeMonitor per group"):
        from_brian2([m, m])
    with pytest.raises(ValueError, match="monitors.*expected a brian2 SpikeMonitor"):
        from_brian2([m, "x"])
    one = from_brian2(m)
    assert one.n_trials == 1 and one.trial_duration_ms == 30.0 and one.n_spikes == len(m.t)


# ---------------------------------------------------------------------------------------- NEST
def run_nest():
    """4 iaf_psc_alpha (exc) -> 2 iaf_psc_exp (inh), three successive 20 ms Simulate calls = three trials.

    Returns the record and the recorder's events.
    """
    nest = import_or_skip("nest", "nest-simulator")
    from synsem_ephys.adapters.nest import from_nest

    nest.ResetKernel()
    nest.set_verbosity("M_ERROR") if not hasattr(nest, "VerbosityLevel") else setattr(
        nest, "verbosity", nest.VerbosityLevel.ERROR)
    nest.resolution = 0.1
    exc = nest.Create("iaf_psc_alpha", 4)
    exc.I_e = [0.0, 400.0, 500.0, 700.0]  # exc_0 silent
    inh = nest.Create("iaf_psc_exp", 2, params={"I_e": 370.0})
    nest.Connect(exc, inh, syn_spec={"weight": 150.0})
    rec = nest.Create("spike_recorder")
    nest.Connect(exc + inh, rec)
    for _ in range(3):
        nest.Simulate(20.0)
    events = {k: np.asarray(v).copy() for k, v in rec.get("events").items()}
    return from_nest(rec, populations={"exc": exc, "inh": inh}, trials=[0.0, 20.0, 40.0]), events, (exc, inh, rec)


def test_nest_recorder_to_record():
    rec, ev, (exc, inh, recorder) = run_nest()
    nest = importlib.import_module("nest")
    node = {i: unit_name("exc", k) for k, i in enumerate(exc.tolist())}
    node.update({i: unit_name("inh", k) for k, i in enumerate(inh.tolist())})
    expected = sorted((node[int(s)], int(t // 20.0), float(t - 20.0 * (t // 20.0)))
                      for s, t in zip(ev["senders"], ev["times"]))
    assert len(expected) == rec.n_spikes > 10 and expected == _spikes(rec)
    assert rec.n_trials == 3 and rec.trial_duration_ms == 20.0
    assert rec.units.channel_id.tolist() == exc.tolist() + inh.tolist()
    assert rec.count_matrix()[:, 0].sum() == 0 and rec.count_matrix().max() > 1
    assert rec.meta["simulator"] == "NEST" and rec.meta["simulator_version"] == nest.__version__
    assert rec.meta["resolution_ms"] == 0.1 and rec.meta["populations_from"] == "given"
    assert rec.meta["populations"][0] == {"name": "exc", "size": 4, "first_unit": 0, "first_id": 1, "last_id": 4}
    # the same events as a dict, the default populations (one per model), one trial
    from synsem_ephys.adapters.nest import from_nest

    by_model = from_nest(recorder)
    assert by_model.units.population.tolist() == ["iaf_psc_alpha"] * 4 + ["iaf_psc_exp"] * 2
    assert by_model.n_trials == 1 and by_model.trial_duration_ms == 60.0 and by_model.n_spikes == rec.n_spikes
    bare = from_nest(ev)
    assert bare.meta["populations_from"] == "senders" and bare.n_units == 5  # the silent exc_0 is unknown
    assert bare.trial_duration_ms == np.floor(ev["times"].max()) + 1.0


def test_nest_refuses_lost_spikes():
    _, ev, (exc, inh, _) = run_nest()
    from synsem_ephys.adapters.nest import from_nest

    with pytest.raises(ValueError, match=r"events\['senders'\]: expected node ids of the given populations"):
        from_nest(ev, populations={"exc": exc})
    with pytest.raises(ValueError, match="populations: expected disjoint populations"):
        from_nest(ev, populations={"a": exc, "b": exc + inh})
    with pytest.raises(ValueError, match="expected float times in ms"):
        from_nest({"senders": ev["senders"], "times": np.round(ev["times"] * 10).astype(int), "offsets": ev["times"]})
    with pytest.raises(ValueError, match="every spike inside a trial window"):
        from_nest(ev, populations={"exc": exc, "inh": inh}, trial_duration_ms=30.0)


# ---------------------------------------------------------------------------------------- PyNN
def run_pynn():
    """PyNN on NEST: 2 spike sources -> 3 IF_curr_exp, run 20 ms, reset, run 20 ms (two Segments = trials).

    Returns the record and the two ``get_data()`` Blocks.
    """
    sim = import_or_skip("pyNN.nest", "pyNN nest-simulator")
    from synsem_ephys.adapters.pynn import from_pynn

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyNN's deprecation notes about NEST's old API; nest-config absent
        sim.setup(timestep=0.1, t_flush=100.0)  # NEST's reset needs t_flush (PyNN's documented workaround)
        cells = sim.Population(3, sim.IF_curr_exp(i_offset=[0.0, 0.8, 1.2]), label="cells")
        stim = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0, 5.0, 9.0], [2.0, 3.0, 15.0]]), label="stim")
        sim.Projection(stim, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=1.5, delay=0.5))
        cells.record("spikes")
        stim.record("spikes")
        sim.run(20.0)
        sim.reset()
        sim.run(20.0)
        blocks = [cells.get_data(), stim.get_data()]
        sim.end()
    return from_pynn(blocks), blocks


def test_pynn_blocks_to_record():
    rec, blocks = run_pynn()
    assert rec.n_trials == 2 and len(blocks[0].segments) == 2
    assert rec.units.name.tolist() == ["cells_0", "cells_1", "cells_2", "stim_0", "stim_1"]
    expected = []
    for blk in blocks:
        for r, seg in enumerate(blk.segments):
            for st in seg.spiketrains:
                name = unit_name(st.annotations["source_population"], int(st.annotations["source_index"]))
                t = st.times.rescale("ms").magnitude - st.t_start.rescale("ms").magnitude
                expected += [(name, r, float(x)) for x in t]
    assert len(expected) == rec.n_spikes > 10 and sorted(expected) == _spikes(rec)
    ids = [int(st.annotations["channel_id"]) for blk in blocks for st in blk.segments[0].spiketrains]
    assert rec.units.channel_id.tolist() == ids
    assert rec.meta["simulator"] == "NEST" and rec.meta["simulator_version"] == importlib.import_module("nest").__version__
    assert rec.meta["pynn_version"] == importlib.import_module("pyNN").__version__
    assert [p["name"] for p in rec.meta["populations"]] == ["cells", "stim"] and rec.meta["dt_ms"] == 0.1
    assert rec.count_matrix().max() > 1


def test_pynn_refuses_blocks_of_other_tools(tiny_block):
    from synsem_ephys.adapters.pynn import from_pynn
    from synsem_ephys.errors import DataFormatError

    import_or_skip("neo")
    with pytest.raises(DataFormatError, match="PyNN's annotations source_population and source_index"):
        seg_block = __import__("neo").Block()
        seg = __import__("neo").Segment()
        seg.spiketrains.append(__import__("neo").SpikeTrain([1.0], units="ms", t_stop=5.0))
        seg_block.segments.append(seg)
        from_pynn(seg_block)
    with pytest.raises(ValueError, match="block: expected a neo.Block"):
        from_pynn("run.pkl")


# ---------------------------------------------------------------------------------------- spike tensors
def run_spike_tensor():
    """snnTorch: 4 inputs -> 5 Leaky -> 3 Leaky, 25 steps of 1 ms, batch of 3; the three layers' spikes.

    Returns the record and the (time, batch, units) tensors.
    """
    torch = import_or_skip("torch")
    snn = import_or_skip("snntorch")
    from synsem_ephys.adapters.spike_tensor import from_spike_tensor

    g = torch.Generator().manual_seed(0)
    x = (torch.rand(25, 3, 4, generator=g) < 0.4).float()
    fc1, fc2 = torch.nn.Linear(4, 5, bias=False), torch.nn.Linear(5, 3, bias=False)
    with torch.no_grad():
        fc1.weight.copy_(torch.rand(5, 4, generator=g) * 1.2)
        fc2.weight.copy_(torch.rand(3, 5, generator=g) * 1.2)
    lif1, lif2 = snn.Leaky(beta=0.9), snn.Leaky(beta=0.8)
    m1, m2 = lif1.init_leaky(), lif2.init_leaky()
    s1, s2 = [], []
    with torch.no_grad():
        for t in range(x.shape[0]):
            a, m1 = lif1(fc1(x[t]), m1)
            b, m2 = lif2(fc2(a), m2)
            s1.append(a)
            s2.append(b)
    spikes = [x, torch.stack(s1), torch.stack(s2)]
    rec = from_spike_tensor(spikes, 1.0, layer_names=["input", "hidden", "output"], labels=torch.tensor([2, 0, 1]),
                            simulator="snntorch")
    return rec, spikes


def test_snntorch_tensors_to_record():
    rec, spikes = run_spike_tensor()
    snn = importlib.import_module("snntorch")
    expected = []
    for name, s in zip(["input", "hidden", "output"], spikes):
        T, B, U = s.shape
        for t in range(T):
            for b in range(B):
                for u in range(U):
                    expected += [(unit_name(name, u), b, float(t))] * int(s[t, b, u])
    assert len(expected) == rec.n_spikes and sorted(expected) == _spikes(rec)
    assert all(int(s.sum()) > 0 for s in spikes)  # every layer spiked
    assert rec.n_trials == 3 and rec.trial_duration_ms == 25.0 and rec.units.layer.tolist() == [0] * 4 + [1] * 5 + [2] * 3
    np.testing.assert_array_equal(rec.trials.label, [2, 0, 1])
    assert rec.meta["simulator"] == "snntorch" and rec.meta["simulator_version"] == snn.__version__
    assert rec.meta["tensor_type"] == ["torch"] and rec.meta["time_convention"].startswith("spike of step k at k * dt_ms")


def test_spike_tensor_counts_layouts_and_errors():
    from synsem_ephys.adapters.spike_tensor import from_spike_tensor

    counts = np.zeros((4, 2, 3), dtype=np.int32)  # (time, batch, units)
    counts[1, 0, 2] = 3
    counts[3, 1, 0] = 1
    rec = from_spike_tensor(counts, 0.5)
    assert _spikes(rec) == [("layer0_0", 1, 1.5)] + [("layer0_2", 0, 0.5)] * 3
    assert rec.trial_duration_ms == 2.0 and rec.meta["tensor_type"] == ["numpy"]
    btu = from_spike_tensor(np.transpose(counts, (1, 0, 2)).astype(bool), 0.5, layout="btu")
    assert _spikes(btu) == sorted(set(_spikes(rec)))  # bool: one spike per bin
    with pytest.raises(ValueError, match="whole spike counts"):
        from_spike_tensor(counts * 0.5, 1.0)
    with pytest.raises(ValueError, match="counts >= 0"):
        from_spike_tensor(-counts, 1.0)
    with pytest.raises(ValueError, match=r"spikes\[1\]: expected 4 steps and 2 trials"):
        from_spike_tensor([counts, counts[:3]], 1.0)
    with pytest.raises(ValueError, match="layout: expected one of"):
        from_spike_tensor(counts, 1.0, layout="ubt")
    with pytest.raises(ValueError, match="dt_ms: expected a finite float > 0"):
        from_spike_tensor(counts, 0.0)
    with pytest.raises(ValueError, match=r"labels: expected one label per trial, shape \(2,\)"):
        from_spike_tensor(counts, 1.0, labels=[0, 1, 2])


# ---------------------------------------------------------------------------------------- shared back end
def test_record_from_populations_windows():
    pops = [("a", [10, 11]), ("b", [20])]
    t = np.array([0.5, 3.0, 4.0, 9.5])
    u = np.array([0, 1, 2, 0])
    rec = record_from_populations(pops, [(t, u)], trials=[0.0, 3.0], run_end_ms=[10.0])
    np.testing.assert_array_equal(rec.trials.columns["duration_ms"], [3.0, 7.0])
    assert rec.trial_duration_ms == 7.0 and _spikes(rec) == [("a_0", 0, 0.5), ("a_0", 1, 6.5), ("a_1", 1, 0.0),
                                                               ("b_0", 1, 1.0)]
    assert rec.meta["populations"][0] == {"name": "a", "size": 2, "first_unit": 0, "first_id": 10, "last_id": 11}
    with pytest.raises(ValueError, match="strictly increasing"):
        record_from_populations(pops, [(t, u)], trials=[3.0, 0.0])
    with pytest.raises(ValueError, match="distinct population names"):
        record_from_populations([("a", [1]), ("a", [2])], [(t[:1], u[:1])])
    with pytest.raises(ValueError, match=r"runs\[0\] unit rows: expected rows in \[0, 3\)"):
        record_from_populations(pops, [(t, u + 2)])


def test_every_converter_follows_the_protocol_and_is_in_the_conformance_suite():
    import inspect

    from test_conformance import SOURCES

    for name in CONVERTERS:
        params = list(inspect.signature(get_converter(name)).parameters.values())
        assert params[0].kind == params[0].POSITIONAL_OR_KEYWORD and params[0].default is params[0].empty, name
        # a second data object may be positional (spike_tensor's dt_ms, pynapple's epochs), every option keyword-only
        assert all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) or p.default is p.empty or k == 0
                   for k, p in enumerate(params[1:])), name
        assert name in SOURCES and SOURCES[name][0] is None, name
    with pytest.raises(ValueError, match="converter: expected one of"):
        get_converter("brain2")


# ---------------------------------------------------------------------------------------- NIR
def _spiking_network():
    torch = import_or_skip("torch")
    from synsem_ephys.sim import Network
    from synsem_ephys.spec import NetworkSpec

    spec = NetworkSpec(n_inputs=6, hidden=((4, 2), (3, 1)), n_outputs=3, tau_syn_ms=5.0, tau_mem_ms=10.0)
    net = Network(spec, seed=3)
    x = torch.rand(16, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 10.0
    net.calibrate_(x, target=(0.6, 0.9))
    return net, x


def test_nir_round_trip_gives_identical_spike_times(tmp_path):
    nir = import_or_skip("nir")
    torch = import_or_skip("torch")
    from synsem_ephys.adapters.nir import SPEC_KEY, from_nir, to_nir

    net, x = _spiking_network()
    graph = to_nir(net)
    assert list(graph.nodes) == ["input", "linear1", "lif1", "linear2", "lif2", "linear3", "lif3", "output"]
    lif = graph.nodes["lif1"]
    assert isinstance(lif, nir.CubaLIF) and np.all(lif.tau_syn == 0.005) and np.all(lif.tau_mem == 0.01)
    np.testing.assert_array_equal(graph.nodes["linear2"].weight, net.weights[1].detach().numpy().T)
    out = net(x)
    assert all(bool(torch.isfinite(t).any()) for t in out)  # every layer spikes
    for g in (graph, nir.read(_written(nir, graph, tmp_path / "net.nir"))):
        back = from_nir(g)
        assert back.spec == net.spec and back.spec.dale
        for a, b in zip(out, back(x)):
            assert torch.equal(a, b)
    # without the stored spec: a spec without Dale's law, same spike times
    graph.metadata.pop(SPEC_KEY)
    plain = from_nir(graph)
    assert not plain.spec.dale and plain.spec.layer_sizes == net.spec.layer_sizes
    assert all(torch.equal(a, b) for a, b in zip(out, plain(x)))


def _written(nir, graph, path):
    nir.write(str(path), graph)
    return str(path)


def test_nir_import_of_other_graphs_and_refusals():
    nir = import_or_skip("nir")
    torch = import_or_skip("torch")
    from synsem_ephys.adapters.nir import from_nir, to_nir
    from synsem_ephys.errors import SpecError

    net, x = _spiking_network()
    w = [m.T for m in net.weights_numpy()[0]]
    n = [m.shape[0] for m in w]

    def cuba(k, tau_syn=0.005, tau_mem=0.01, **kw):
        p = dict(tau_syn=np.full(k, tau_syn), tau_mem=np.full(k, tau_mem), r=np.full(k, 2.0), v_leak=np.zeros(k),
                 v_threshold=np.full(k, 1.0), w_in=np.full(k, tau_syn / 2.0))
        p.update(kw)
        return nir.CubaLIF(**p)

    # r * w_in / tau_syn = 1 (r = 2, w_in = tau_syn / 2), Affine with zero bias: the same network
    g = nir.NIRGraph.from_list(*[node for l in range(3) for node in (nir.Affine(weight=w[l], bias=np.zeros(n[l])), cuba(n[l]))])
    assert all(torch.equal(a, b) for a, b in zip(net(x), from_nir(g)(x)))
    # LI -> LIF is a CubaLIF whose current is the LI node (tau = tau_syn, r = w_in); one threshold 2 for
    # twice the weights; then per-neuron thresholds theta with weights theta * w, divided back on import
    def li_lif(theta):
        return nir.NIRGraph.from_list(*[node for l in range(3) for node in (
            nir.Linear(weight=theta[l][:, None] * w[l]),
            nir.LI(tau=np.full(n[l], 0.005), r=np.full(n[l], 0.005), v_leak=np.zeros(n[l])),
            nir.LIF(tau=np.full(n[l], 0.01), r=np.ones(n[l]), v_leak=np.zeros(n[l]), v_threshold=theta[l]))])

    rng = np.random.default_rng(0)
    for theta, th in (([np.full(k, 2.0) for k in n], 2.0), ([rng.uniform(0.5, 3.0, k) for k in n], 1.0)):
        imported = from_nir(li_lif(theta))
        assert imported.spec.threshold == th and not imported.spec.dale
        for a, b in zip(net(x), imported(x)):
            assert torch.equal(torch.isfinite(a), torch.isfinite(b))
            torch.testing.assert_close(b[torch.isfinite(b)], a[torch.isfinite(a)], rtol=1e-9, atol=1e-9)

    def refused(nodes, match):
        with pytest.raises(SpecError, match=match):
            from_nir(nir.NIRGraph.from_list(*nodes))

    refused([nir.Linear(weight=w[0]), cuba(n[0], tau_mem=0.015), nir.Linear(weight=w[1]), cuba(n[1], tau_mem=0.015)],
            r"tau_mem / tau_syn: expected 1 \(tau_mem == tau_syn\) or 2 .* got 15.0 ms / 5.0 ms = 3")
    refused([nir.Linear(weight=w[0]), nir.LIF(tau=np.full(n[0], 0.01), r=np.ones(n[0]), v_leak=np.zeros(n[0]),
                                               v_threshold=np.ones(n[0]))],
            "a LIF without synaptic current")
    refused([nir.Affine(weight=w[0], bias=np.ones(n[0])), cuba(n[0]), nir.Linear(weight=w[1]), cuba(n[1])],
            "bias: expected zeros")
    refused([nir.Linear(weight=w[0]), cuba(n[0], v_leak=np.full(n[0], -0.1)), nir.Linear(weight=w[1]), cuba(n[1])],
            "v_leak: expected zeros")
    refused([nir.Linear(weight=w[0]), cuba(n[0]), nir.Linear(weight=w[1]), cuba(n[1], tau_syn=0.0025, tau_mem=0.005,
                                                                               w_in=np.full(n[1], 0.00125))],
            "tau_syn: expected one positive tau_syn for every neuron")
    refused([nir.Linear(weight=w[0]), cuba(n[0])], "at least two neuron layers")
    g = to_nir(net)
    g.edges.append(("lif1", "linear3"))
    with pytest.raises(SpecError, match=r"graph.nodes\['lif1'\]: expected one outgoing edge"):
        from_nir(g)
    g = to_nir(net)
    for l in range(3):
        g.nodes[f"lif{l + 1}"].v_threshold = np.full(n[l], 3.0)  # the stored spec says threshold 1
    with pytest.raises(SpecError, match="synsem_ephys_spec.*Remove the stale metadata"):
        from_nir(g)
