"""The main job end to end on the shipped network: simulate, NIX round trip, report; clear errors."""

import json

import numpy as np
import pytest
import torch

from synsem_ephys.demo import DATA_DIR, run_demo, shipped_network_path
from synsem_ephys.errors import DataMissingError
from synsem_ephys.sim import Network
from synsem_ephys.spec import NetworkSpec

pytest.importorskip("sklearn")  # the interim shipped network is trained on scikit-learn's digits


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    torch.set_num_threads(1)
    return run_demo(tmp_path_factory.mktemp("demo"), progress=False)


def test_shipped_network_reproduces_its_recorded_accuracy(demo):
    net = Network.load(shipped_network_path())
    assert demo.network_path == shipped_network_path()
    assert net.dale_violations() == 0 and net.spec.dale and len(net.spec.hidden) >= 2
    # the whole test split, float64: exactly the accuracy the trainer measured and stored beside the weights
    assert demo.shipped_accuracy is not None
    assert demo.accuracy == pytest.approx(demo.shipped_accuracy, abs=1e-12)
    assert demo.accuracy > 0.5  # ten classes: far above chance


def test_demo_writes_a_readable_nix_file_and_a_full_report(demo):
    import neo

    io = neo.NixIO(str(demo.nix_path), mode="ro")
    try:
        block = io.read_block()
    finally:
        io.close()
    net = Network.load(demo.network_path)
    assert len(block.segments[0].spiketrains) == sum(net.spec.layer_sizes)
    rep = demo.report
    for path in [rep.html, rep.summary, rep.graphml, *rep.figures.values()]:
        assert path is not None and path.exists() and path.stat().st_size > 0
    for name in ("raster", "dispersion", "information", "pathways", "accuracy"):
        assert rep.figures[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads(rep.summary.read_text())
    assert summary["accuracy"] == pytest.approx(demo.accuracy)
    names = {c["name"] for c in summary["checks"]}
    assert {"ig_E_rises", "ig_I_lower", "spread_falls_deep", "overlap_falls"} <= names


def test_demo_errors(tmp_path):
    with pytest.raises(DataMissingError, match="network"):
        run_demo(tmp_path, network=tmp_path / "missing.pt", progress=False)
    bare = tmp_path / "bare.pt"
    Network(NetworkSpec(64, hidden=((8, 2),), n_outputs=10)).save(bare)  # no training config stored
    with pytest.raises(ValueError, match="network"):
        run_demo(tmp_path, network=bare, progress=False)
    with pytest.raises(ValueError, match="n_trials"):
        run_demo(tmp_path, n_trials=0, progress=False)


def test_shipped_network_was_trained_with_the_bundled_config():
    from synsem_ephys.train.config import TrainConfig, load_config

    net = Network.load(shipped_network_path())
    stored = TrainConfig.from_dict(net.extra["config"])
    assert stored == load_config(f"{stored.dataset}_dale")  # re-creatable from the bundled YAML
    assert net.extra["epochs_done"] == stored.epochs  # fully trained, not a stage of a run


def test_demo_on_an_mnist_network_reads_the_mnist_directory(tmp_path):
    """The MNIST branch (what the shipped MNIST network will take), with a small untrained network."""
    from synsem_ephys.train import datasets as ds
    from synsem_ephys.train.config import TrainConfig

    try:
        mnist = ds.mnist_dir()
    except DataMissingError:
        pytest.skip("no MNIST directory (../shared/data/mnist, SYNSEM_MNIST_DIR, SYNSEM_DATA)")
    cfg = TrainConfig(dataset="mnist", hidden=[[12, 4], [12, 4]], dale=True, tau_mem_ms=10.0, zero_never_spikes=True,
                      weight_init_mean=[15.0, 0.0, 0.0], weight_init_std=[230.0, 20.0, 20.0], weight_init_inh_scale=2.0)
    path = tmp_path / "mnist_small.pt"
    Network(cfg.network_spec(), weight_init=tuple(zip(cfg.weight_init_mean, cfg.weight_init_std)),
            inh_scale=2.0).enforce_dale_().save(path, extra={"config": cfg.to_dict()})
    res = run_demo(tmp_path / "out", network=path, data_dir=mnist, n_trials=40, progress=False)
    assert res.dataset == "mnist" and res.n_trials == 40 and res.shipped_accuracy is None
    labels = ds.load_mnist("test", mnist).y[:40]
    from synsem_ephys.neo_io import read_nix_record

    back = read_nix_record(res.nix_path)
    assert np.array_equal(back.trials.label, labels)  # the first 40 test images, in order
    assert back.n_units == 784 + 16 + 16 + 10 and res.report.html.exists()
    with pytest.raises(DataMissingError):
        run_demo(tmp_path / "out2", network=path, data_dir=tmp_path / "no_mnist_here", n_trials=5, progress=False)


def test_shipped_mnist_network_runs_on_the_bundled_subset_and_falls_back_without_it(tmp_path, monkeypatch, capsys):
    """An MNIST network as the default needs no MNIST directory (the bundled 1,000 test images); without
    the bundled subset the demo falls back to the digits network, saying why."""
    import shutil

    import synsem_ephys.demo as demo_mod
    from synsem_ephys.train import datasets as ds
    from synsem_ephys.train.config import TrainConfig

    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(DATA_DIR / "digits_dale.pt", data / "digits_dale.pt")
    cfg = TrainConfig(dataset="mnist", hidden=[[6, 2], [6, 2]], dale=True, tau_mem_ms=10.0)
    Network(cfg.network_spec()).save(data / "mnist_dale.pt", extra={"config": cfg.to_dict()})
    monkeypatch.setattr(demo_mod, "DATA_DIR", data)
    monkeypatch.delenv("SYNSEM_MNIST_DIR", raising=False)
    monkeypatch.setenv("SYNSEM_DATA", str(tmp_path / "nothing"))
    res = run_demo(tmp_path / "out", n_trials=30, progress=False)
    assert res.dataset == "mnist" and res.network_path == data / "mnist_dale.pt" and res.n_trials == 30
    from synsem_ephys.neo_io import read_nix_record

    assert np.array_equal(read_nix_record(res.nix_path).trials.label, ds.load_mnist_test_subset().y[:30])
    monkeypatch.setattr(ds, "MNIST_SUBSET_DIR", tmp_path / "no_subset_here")
    res = run_demo(tmp_path / "out2", n_trials=30, progress=True)
    assert res.dataset == "digits" and res.network_path == data / "digits_dale.pt"
    assert "mnist_dale.pt: its test images are not available" in capsys.readouterr().err
    with pytest.raises(DataMissingError):  # asked for explicitly, the MNIST network does not fall back
        run_demo(tmp_path / "out3", network=data / "mnist_dale.pt", data_dir=tmp_path / "no_mnist_here",
                 progress=False)
