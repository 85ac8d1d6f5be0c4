"""The fast-and-deep adapter: the published eight-layer Dale's-law network, its stored outputs and dumps.

Data: ``$SYNSEM_DATA/fastanddeep/mnist_eightlayer_seed1_daleslaw`` (default ``<repo>/../shared/data``) and
``$SYNSEM_DATA/mnist``; the tests that need them skip when the folder is absent. Times in the files are in
units of tau_syn; the authors' forward is an Euler integrator with step h = 0.01 tau_syn, so their spike
times lie on that grid and this package's exact simulator differs from them by the integrator's error:

- layer by layer (each layer simulated exactly from the *stored* spikes of the layer before), measured on
  the 150 dumps: median |dt| 0.003 tau_syn in every layer, 95th percentile < 0.0091, 99th < 0.017, and
  <= 0.27 % of (sample, unit) pairs fire in only one of the two or differ by more than 5 h (grazing
  thresholds: Euler's V is ~e^h = 1 % high, so it fires where the exact V peaks just below threshold).
  Tolerances: median <= h / 2, 95th percentile <= h, 99th <= 2 h, such pairs <= 0.5 %.
- end to end (exact through all nine layers): the differences add up, median |dt| 0.003 (layer 1) to
  0.019 (layer 8) and 0.021 at the output (max 0.39). Tolerances: median <= 0.03 tau_syn per layer,
  firing disagreement <= 1 % per layer.
- predicted class: 99.80 % of the 10,000 test images (bench/bench_fastanddeep.py); here the first 2,000
  (99.6 % measured) must agree for >= 99.5 %.
"""

import json
import os
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from synsem_ephys.adapters import fastanddeep as fd

from synsem_ephys.errors import DataFormatError, DataMissingError, SpecError
from synsem_ephys.sim.network import Network
from synsem_ephys.spec import NetworkSpec

torch.set_num_threads(1)

DATA = Path(os.environ.get("SYNSEM_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))
RUN = DATA / "fastanddeep" / "mnist_eightlayer_seed1_daleslaw"
MNIST = DATA / "mnist"
TAU = 5.0  # ms per tau_syn used throughout
H = 0.01  # the authors' Euler step, tau_syn

needs_run = pytest.mark.skipif(not RUN.is_dir(), reason=f"fast-and-deep run folder {RUN} is absent (set SYNSEM_DATA)")
needs_mnist = pytest.mark.skipif(not MNIST.is_dir(), reason=f"MNIST folder {MNIST} is absent (set SYNSEM_DATA)")


def _io():
    from synsem_ephys import io

    return io


@pytest.fixture(scope="module")
def net():
    return fd.load_network(RUN, tau_syn_ms=TAU)


@pytest.fixture(scope="module")
def dumps():
    return {k: np.load(RUN / f) for k, f in fd.DUMP_FILES.items()}


def _diff(a, b):
    """|a - b| where both fire, and the number of entries where exactly one fires."""
    fa, fb = np.isfinite(a), np.isfinite(b)
    both = fa & fb
    return np.abs(a[both] - b[both]), int(np.sum(fa != fb))


# ------------------------------------------------------------------------------------------ network
@needs_run
def test_network_shapes_populations_and_dale_signs(net):
    spec = net.spec
    assert (spec.n_inputs, spec.n_outputs, spec.dale) == (784, 10, True)
    assert spec.hidden == ((75, 25),) * 8
    assert spec.tau_syn_ms == spec.tau_mem_ms == TAU and spec.threshold == 1.0
    assert [tuple(W.shape) for W in net.weights] == [(784, 100)] + [(100, 100)] * 7 + [(100, 10)]
    assert net.weights[0].dtype == torch.float64
    assert net.dale_violations() == 0
    for l in range(1, 9):
        W = net.weights[l].detach().numpy()
        assert (W[:75] >= 0).all() and (W[75:] <= 0).all()
        assert (W[:75] > 0).any(axis=1).all() and (W[75:] < 0).any(axis=1).all()  # no all-zero rows
    names = [p.name for p in spec.populations()]
    assert names[:3] == ["input", "hidden1_E", "hidden1_I"] and names[-1] == "output"
    assert net.extra["unit_order"] == [None] * 8  # E units already come first: no permutation
    assert net.extra["classes"] == ["training.Net", "utils.EqualtimeLayer"]
    # the weights are those of the file, untouched
    nf = fd.read_network_file(RUN / "mnist_network.pt")
    for W, w in zip(net.weights, nf.weights):
        np.testing.assert_array_equal(W.detach().numpy(), w)
    assert nf.sim_params["resolution"] == H and nf.attributes["layer_sizes"] == [100] * 8 + [10]


@needs_run
def test_time_unit_follows_tau_syn_ms():
    net2 = fd.load_network(RUN, tau_syn_ms=2.0, dtype=torch.float32)
    assert net2.spec.tau_syn_ms == net2.spec.tau_mem_ms == 2.0 and net2.weights[0].dtype == torch.float32
    t, _ = fd.load_test_outputs(RUN, tau_syn_ms=2.0)
    t5, _ = fd.load_test_outputs(RUN, tau_syn_ms=TAU)
    np.testing.assert_allclose(t * 2.5, t5)


# ------------------------------------------------------------------------------------------ stored outputs
@needs_run
def test_stored_test_accuracy_is_97_percent():
    times, labels = fd.load_test_outputs(RUN, tau_syn_ms=TAU)
    assert times.shape == (10000, 10) and labels.shape == (10000,)
    raw = np.load(RUN / "mnist_test_spiketimes.npy")
    np.testing.assert_array_equal(times, raw * TAU)
    assert np.sum(fd.predictions_from_times(times) == labels) == 9700
    assert fd.accuracy_from_times(times, labels) == pytest.approx(0.97, abs=1e-12)
    # six images tie at the earliest output time on the 0.01 grid; counting ties as wrong loses one
    assert fd.accuracy_from_times(times, labels, ties="none") == pytest.approx(0.9699, abs=1e-12)
    assert fd.predictions_from_times(np.array([[np.inf, np.inf], [2.0, 2.0]])).tolist() == [-1, 0]


# ------------------------------------------------------------------------------------------ exact simulator
@needs_run
def test_exact_simulator_agrees_with_the_dumps_to_the_euler_error(net, dumps):
    t_in = dumps["inputs"]
    stored = list(dumps["hiddens"]) + [dumps["outputs"]]
    with torch.no_grad():
        e2e = [t.numpy() / TAU for t in net(torch.from_numpy(t_in * TAU))]
        prev = t_in
        for l, W in enumerate(net.weights):  # layer by layer, from the stored spikes of the layer before
            local = net._layer(torch.from_numpy(prev * TAU), W, l).numpy() / TAU
            d, n_one = _diff(local, stored[l])
            bad = (n_one + np.sum(d > 5 * H)) / local.size
            assert np.median(d) <= H / 2, (l, np.median(d))
            assert np.percentile(d, 95) <= H and np.percentile(d, 99) <= 2 * H, (l, np.percentile(d, [95, 99]))
            assert bad <= 0.005, (l, bad)
            prev = stored[l]
    for l, (a, b) in enumerate(zip(e2e, stored)):
        d, n_one = _diff(a, b)
        assert np.median(d) <= 0.03, (l, np.median(d))
        assert n_one <= 0.01 * a.size, (l, n_one)
    d, _ = _diff(e2e[-1], stored[-1])
    assert 0.01 <= np.median(d)  # the Euler error is really there (the exact times are not on its grid)
    agree = fd.predictions_from_times(e2e[-1]) == fd.predictions_from_times(stored[-1])
    assert agree.sum() >= 148, agree.sum()  # 149 of 150 measured


@needs_run
@needs_mnist
def test_exact_simulator_on_mnist_test_images_agrees_on_the_class():
    n = 2000
    t_in, labels = fd.mnist_test_input_times(MNIST, tau_syn_ms=TAU, n=n)
    # the dumps are the first 150 test images in the authors' code (pixel / 256)
    dumped = np.load(RUN / fd.DUMP_FILES["inputs"])
    np.testing.assert_allclose(t_in[:150], dumped * TAU, rtol=1e-15, atol=0)
    pixels = np.rint(256.0 * (1.0 - (t_in[:150] / TAU - fd.T_EARLY) / (fd.T_LATE - fd.T_EARLY)))
    np.testing.assert_array_equal(fd.encode_pixels(pixels, tau_syn_ms=1.0), dumped)  # bit for bit in tau_syn
    stored, stored_labels = fd.load_test_outputs(RUN, tau_syn_ms=TAU)
    np.testing.assert_array_equal(labels, stored_labels[:n])
    net = fd.load_network(RUN, tau_syn_ms=TAU)
    t0 = time.perf_counter()
    with torch.no_grad():
        out = net(torch.from_numpy(t_in))[-1].numpy()
    elapsed = time.perf_counter() - t0
    agree = np.mean(fd.predictions_from_times(out) == fd.predictions_from_times(stored[:n]))
    assert agree >= 0.995, agree
    d, n_one = _diff(out / TAU, stored[:n] / TAU)
    assert np.median(d) <= 0.03 and n_one <= 0.01 * out.size, (np.median(d), n_one)
    assert abs(fd.accuracy_from_times(out, labels) - fd.accuracy_from_times(stored[:n], labels)) <= 0.005
    print(f"exact forward of {n} MNIST test images: {elapsed:.1f} s, class agreement {agree:.4f}")


# ------------------------------------------------------------------------------------------ recording
@needs_run
def test_recording_from_the_dumps_round_trips_through_neo(dumps):
    mnist = MNIST if MNIST.is_dir() else None
    rec = fd.load_recording(RUN, tau_syn_ms=TAU, mnist_dir=mnist)
    assert rec.n_trials == 150 and rec.n_units == 784 + 800 + 10
    pops = dict(zip(*np.unique(rec.units.population, return_counts=True)))
    assert pops["input"] == 784 and pops["output"] == 10
    assert all(pops[f"hidden{k}_E"] == 75 and pops[f"hidden{k}_I"] == 25 for k in range(1, 9))
    assert set(rec.units.cell_type[rec.units.layer == 3]) == {"E", "I"}
    fsm = rec.first_spike_matrix()
    np.testing.assert_array_equal(fsm[:, :784], dumps["inputs"] * TAU)
    np.testing.assert_array_equal(fsm[:, 784 + 200:784 + 300], dumps["hiddens"][2] * TAU)
    np.testing.assert_array_equal(fsm[:, -10:], dumps["outputs"] * TAU)
    np.testing.assert_array_equal(rec.trials.prediction, fd.predictions_from_times(dumps["outputs"]))
    np.testing.assert_array_equal(rec.trials.decision_time_ms, dumps["outputs"].min(axis=1) * TAU)
    assert rec.trial_duration_ms == 6.5 * TAU
    meta = rec.meta
    assert meta["source"] == "fast-and-deep" and meta["tau_syn_ms"] == TAU and meta["config"]["g_leak"] == 1.0
    assert NetworkSpec.from_json(meta["spec"]).hidden == ((75, 25),) * 8
    # the dumps are not rows 0-149 of the stored test outputs (another forward), though their classes agree
    stored, _ = fd.load_test_outputs(RUN, tau_syn_ms=TAU)
    assert not np.array_equal(stored[:150], dumps["outputs"] * TAU)
    np.testing.assert_array_equal(fd.predictions_from_times(stored[:150]), rec.trials.prediction)
    if mnist is not None:
        np.testing.assert_array_equal(rec.trials.columns["mnist_test_index"], np.arange(150))
        np.testing.assert_array_equal(rec.trials.label, np.load(RUN / "mnist_test_labels.npy")[:150])
        assert np.sum(rec.trials.label == rec.trials.prediction) == 149
    io = _io()
    block = io.to_block(rec)
    assert block.annotations["source"] == "fast-and-deep" and "spec_json" in block.annotations
    st = block.segments[0].spiketrains[784]
    assert st.annotations["source_population"] == "hidden1_E" and st.annotations["cell_type"] == "E"
    back = io.from_block(block)
    assert back.n_units == rec.n_units and back.n_trials == rec.n_trials and back.n_spikes == rec.n_spikes
    np.testing.assert_array_equal(back.units.name, rec.units.name)
    np.testing.assert_array_equal(back.units.cell_type, rec.units.cell_type)
    np.testing.assert_array_equal(back.trials.label, rec.trials.label)
    np.testing.assert_array_equal(back.trials.prediction, rec.trials.prediction)
    np.testing.assert_allclose(back.first_spike_matrix(), fsm, rtol=0, atol=1e-9)
    assert json.loads(block.annotations["meta_json"])["run_dir"] == str(RUN)


@needs_run
def test_dumps_without_network_file_use_n_exc_or_the_default(tmp_path):
    for f in fd.DUMP_FILES.values():
        (tmp_path / f).symlink_to(RUN / f)
    rec = fd.load_recording(tmp_path, tau_syn_ms=TAU, mnist_dir=None)  # no config either: file unit = tau_syn
    assert "assumed" in rec.meta["cell_types_from"] and rec.meta["config"] is None and "spec" not in rec.meta
    pops = dict(zip(*np.unique(rec.units.population, return_counts=True)))
    assert pops["hidden1_E"] == 75 and pops["hidden8_I"] == 25
    assert np.all(rec.trials.label == -1) and rec.meta["labels_from"].startswith("unknown")
    rec60 = fd.load_recording(tmp_path, tau_syn_ms=TAU, n_exc=60)
    pops = dict(zip(*np.unique(rec60.units.population, return_counts=True)))
    assert pops["hidden1_E"] == 60 and pops["hidden1_I"] == 40 and "n_exc argument" in rec60.meta["cell_types_from"]
    rec_k = fd.load_recording(tmp_path, tau_syn_ms=TAU, n_exc=[100] + [75] * 7)
    assert "hidden1_I" not in set(rec_k.units.population) and "hidden2_I" in set(rec_k.units.population)
    np.testing.assert_array_equal(rec_k.first_spike_matrix(), rec.first_spike_matrix())
    with pytest.raises(ValueError, match=r"n_exc: expected 8 values"):
        fd.load_recording(tmp_path, n_exc=[75, 75])
    with pytest.raises(ValueError, match=r"layer 1: 101 of 100"):
        fd.load_recording(tmp_path, n_exc=101)
    # with the network file the split comes from the weights and a different n_exc is refused
    (tmp_path / "config.yaml").symlink_to(RUN / "config.yaml")
    (tmp_path / "mnist_network.pt").symlink_to(RUN / "mnist_network.pt")
    assert "weight signs" in fd.load_recording(tmp_path, n_exc=75).meta["cell_types_from"]
    with pytest.raises(ValueError, match=r"n_exc: expected the split read from mnist_network.pt"):
        fd.load_recording(tmp_path, n_exc=60)


def test_missing_folder_and_files_say_what_is_expected(tmp_path):
    missing = tmp_path / "no_such_run"
    for call in (fd.load_network, fd.load_recording, fd.load_test_outputs):
        with pytest.raises(DataMissingError, match="run_dir: expected an existing fast-and-deep run folder") as ei:
            call(missing)
        assert str(missing) in str(ei.value)
    (tmp_path / "spiketimes_inputs_trained.npy").write_bytes(b"")
    with pytest.raises(DataMissingError, match=r"spiketimes_hiddens_trained.npy .*dumped hiddens spike times"):
        fd.load_recording(tmp_path)
    for name in ("spiketimes_hiddens_trained.npy", "spiketimes_outputs_trained.npy"):
        np.save(tmp_path / name, np.zeros((1, 1, 1)))
    with pytest.raises(DataFormatError, match=r"spiketimes_inputs_trained.npy as a .npy file"):
        fd.load_recording(tmp_path)
    with pytest.raises(DataMissingError, match=r"config.yaml"):
        fd.load_network(tmp_path)
    with pytest.raises(DataMissingError, match=r"mnist_test_spiketimes.npy"):
        fd.load_test_outputs(tmp_path)
    with pytest.raises(DataMissingError, match="network file"):
        fd.read_network_file(tmp_path / "mnist_network.pt")


# ------------------------------------------------------------------------------------------ restricted unpickler
_RAN = []


def _side_effect(tag):
    _RAN.append(tag)
    return tag


class Foreign:
    """A class of this test module: not on the unpickler's list."""

    def __reduce__(self):
        return (_side_effect, ("ran",))


class ForeignPlain:
    pass


def test_restricted_unpickler_refuses_foreign_classes(tmp_path):
    p = tmp_path / "evil_network.pt"
    torch.save({"net": Foreign()}, p)
    _RAN.clear()
    with pytest.raises(DataFormatError, match=r"_side_effect") as ei:
        fd.read_network_file(p)
    assert "refused" in str(ei.value).lower() and str(p) in str(ei.value)
    assert _RAN == []  # nothing of the file was executed
    torch.save([ForeignPlain()], p)
    with pytest.raises(DataFormatError, match=r"ForeignPlain"):
        fd.read_network_file(p)
    torch.save({"w": torch.zeros(2, 2)}, p)  # only allowed globals, but no training.Net
    with pytest.raises(DataFormatError, match=r"expected a pickled training.Net"):
        fd.read_network_file(p)


# ------------------------------------------------------------------------------------------ synthetic runs
def _fake_authors_modules(monkeypatch):
    """Classes named like the authors' (training.Net, utils.EqualtimeLayer), written here from scratch."""
    training, utils = types.ModuleType("training"), types.ModuleType("utils")

    class EqualtimeLayer(torch.nn.Module):
        def __init__(self, w):
            super().__init__()
            self.weights = torch.nn.Parameter(torch.as_tensor(w, dtype=torch.float64))
            self.sim_params = {"g_leak": 1.0, "leak": 0.0, "tau_syn": 1.0, "threshold": 1.0, "resolution": 0.01,
                               "decay_syn": float(np.exp(-0.01)), "decay_mem": float(np.exp(-0.01))}

    class Net(torch.nn.Module):
        def __init__(self, ws):
            super().__init__()
            self.layers = torch.nn.ModuleList([EqualtimeLayer(w) for w in ws])
            self.n_inputs, self.layer_sizes, self.n_biases = ws[0].shape[0], [w.shape[1] for w in ws], [0] * len(ws)

    for mod, cls in ((training, Net), (utils, EqualtimeLayer)):
        cls.__module__, cls.__qualname__ = mod.__name__, cls.__name__
        setattr(mod, cls.__name__, cls)
        monkeypatch.setitem(sys.modules, mod.__name__, mod)
    return Net


def _fake_run(path, ws, monkeypatch, g_leak=1.0):
    Net = _fake_authors_modules(monkeypatch)
    path.mkdir()
    torch.save(Net(ws), path / "mnist_network.pt")
    cfg = {"dataset": "mnist", "network_layout": {"n_inputs": ws[0].shape[0], "layer_sizes": [w.shape[1] for w in ws],
                                                  "n_biases": [0] * len(ws)},
           "neuron_params": {"g_leak": g_leak, "leak": 0.0, "tau_syn": 1.0, "threshold": 1.0},
           "training_params": {"resolution": 0.01, "sim_time": 6.5}}
    (path / "config.yaml").write_text(yaml.safe_dump(cfg))
    return path


def test_interleaved_ei_units_are_reordered_and_compute_the_same_spikes(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    signs = np.array([1, -1, 1, 1, -1, 1, 1, 1])  # hidden layer 1: E and I interleaved
    ws = [rng.normal(1.2, 0.5, (6, 8)), np.abs(rng.normal(1.5, 0.5, (8, 3))) * signs[:, None]]
    run = _fake_run(tmp_path / "run", ws, monkeypatch)
    net = fd.load_network(run, tau_syn_ms=TAU)
    assert net.spec.hidden == ((6, 2),) and net.spec.dale and net.dale_violations() == 0
    order = net.extra["unit_order"][0]
    assert order == [0, 2, 3, 5, 6, 7, 1, 4]
    np.testing.assert_array_equal(net.weights[1].detach().numpy(), ws[1][order])
    free = Network.from_weights(NetworkSpec(6, ((8, 0),), 3, tau_syn_ms=TAU, tau_mem_ms=TAU, dale=False), ws)
    t_in = torch.from_numpy(rng.uniform(0.0, 10.0, (20, 6)))
    with torch.no_grad():
        a, b = net(t_in), free(t_in)
    assert torch.isfinite(b[-1]).any()
    torch.testing.assert_close(a[-1], b[-1], rtol=0, atol=1e-9)
    torch.testing.assert_close(a[0], b[0][:, order], rtol=0, atol=1e-9)
    # the dumps are reordered the same way
    np.save(run / fd.DUMP_FILES["inputs"], t_in.numpy() / TAU)
    np.save(run / fd.DUMP_FILES["hiddens"], b[0].numpy()[None] / TAU)
    np.save(run / fd.DUMP_FILES["outputs"], b[-1].numpy() / TAU)
    rec = fd.load_recording(run, tau_syn_ms=TAU)
    assert "reordered" in rec.meta["cell_types_from"]
    hid = rec.units.layer == 1
    np.testing.assert_array_equal(rec.units.columns["source_unit"][hid], order)
    np.testing.assert_allclose(rec.first_spike_matrix()[:, hid], a[0].numpy(), rtol=0, atol=1e-9)
    # a hidden row with both signs: no Dale's law
    ws[1][0, 0] = -abs(ws[1][0, 0])
    ws[1][0, 1] = abs(ws[1][0, 1])
    run2 = _fake_run(tmp_path / "run2", ws, monkeypatch)
    net2 = fd.load_network(run2, tau_syn_ms=TAU)
    assert not net2.spec.dale and net2.spec.hidden == ((8, 0),) and net2.extra["dale"]["mixed_rows"] == [1]


def test_neuron_parameters_map_the_two_tau_cases_and_refuse_others(tmp_path, monkeypatch):
    base = {"neuron_params": {"g_leak": 1.0, "leak": 0.0, "tau_syn": 1.0, "threshold": 1.0}, "network_layout": {}}
    p = fd.neuron_parameters(base, 5.0)
    assert (p["tau_syn_ms"], p["tau_mem_ms"], p["threshold"]) == (5.0, 5.0, 1.0)
    half = {**base, "neuron_params": {**base["neuron_params"], "g_leak": 0.5}}
    p = fd.neuron_parameters(half, 5.0)
    assert (p["tau_mem_ms"], p["threshold"]) == (10.0, 0.5)
    with pytest.raises(SpecError, match=r"g_leak = 0.3, tau_syn = 1.0.*= 3.33333"):
        fd.neuron_parameters({**base, "neuron_params": {**base["neuron_params"], "g_leak": 0.3}}, 5.0)
    with pytest.raises(SpecError, match=r"leak"):
        fd.neuron_parameters({**base, "neuron_params": {**base["neuron_params"], "leak": -0.2}}, 5.0)
    with pytest.raises(SpecError, match="tau_syn_ms"):
        fd.neuron_parameters(base, -1.0)
    # a network file whose Euler decays belong to another tau_mem than the config's is refused
    run = _fake_run(tmp_path / "run", [np.ones((3, 2)), np.ones((2, 2))], monkeypatch, g_leak=0.5)
    with pytest.raises(DataFormatError, match=r"decay_mem|g_leak"):
        fd.load_network(run)


def test_from_weights_checks_shapes_and_dale_signs():
    spec = NetworkSpec(4, ((2, 1),), 2, tau_syn_ms=TAU, tau_mem_ms=TAU)
    w0, w1 = np.full((4, 3), 0.5), np.array([[1.0, 0.5], [0.2, 0.0], [-1.0, -0.3]])
    net = Network.from_weights(spec, [w0, torch.from_numpy(w1)], dtype=torch.float32)
    assert net.weights[1].dtype == torch.float32 and net.dale_violations() == 0
    np.testing.assert_array_equal(net.weights[1].detach().numpy(), w1.astype(np.float32))
    w1[0, 0] = 0.0  # the caller's array is not shared
    assert float(net.weights[1][0, 0].detach()) == 1.0
    with pytest.raises(SpecError, match=r"weights\[1\]: expected shape \(3, 2\).*got shape \(2, 3\)"):
        Network.from_weights(spec, [w0, w1.T])
    with pytest.raises(SpecError, match=r"weights: expected 2 weight matrices.*got 1"):
        Network.from_weights(spec, [w0])
    bad = w1.copy()
    bad[0, 1], bad[2, 0], bad[2, 1] = -0.1, 0.4, 0.2
    with pytest.raises(SpecError, match=r"3 violating entries.*1 negative entries in excitatory rows, 2 positive"):
        Network.from_weights(spec, [w0, bad])
    Network.from_weights(NetworkSpec(4, ((3, 0),), 2, tau_syn_ms=TAU, tau_mem_ms=TAU, dale=False), [w0, bad])
