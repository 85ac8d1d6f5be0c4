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
    assert demo.shipped_accuracy is not None
    if demo.dataset == "mnist":
        # the bundled 1,000 test images in float64, as measured when the network shipped (the trainer's
        # test accuracy is on all 10,000 images in the training dtype)
        assert demo.n_trials == 1000
        assert demo.accuracy == pytest.approx(net.extra["bundled_subset_accuracy"], abs=1e-12)
        assert demo.shipped_accuracy > 0.95
    else:
        # the whole test split, float64: exactly the accuracy the trainer measured and stored beside the weights
        assert demo.accuracy == pytest.approx(demo.shipped_accuracy, abs=1e-12)
    assert demo.accuracy > 0.5  # ten classes: far above chance


def test_demo_writes_a_readable_nix_file_and_a_full_report(demo):
    # the demo read the file back and checked it equals the analysed recording; here nixio itself counts
    # the SpikeTrains (a second neo read of 2,394 trains would take ~40 s)
    import nixio

    f = nixio.File.open(str(demo.nix_path), nixio.FileMode.ReadOnly)
    try:
        n_trains = sum(mt.type == "neo.spiketrain" for b in f.blocks for mt in b.multi_tags)
    finally:
        f.close()
    net = Network.load(demo.network_path)
    assert n_trains == sum(net.spec.layer_sizes)
    rep = demo.report
    for path in [rep.html, rep.summary, rep.graphml, *rep.figures.values()]:
        assert path is not None and path.exists() and path.stat().st_size > 0
    for name in ("raster", "dispersion", "information", "pathways", "accuracy"):
        assert rep.figures[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads(rep.summary.read_text())
    assert summary["accuracy"] == pytest.approx(demo.accuracy)
    phases = summary["demo_seconds"]  # the demo's per-phase table; the NIX round trip ran beside the report
    assert {"load", "simulate", "report", "nix_write", "nix_read", "nix", "nix_wait", "total"} <= set(phases)
    assert phases["total"] >= phases["report"] + phases["nix_wait"] and phases == pytest.approx(demo.seconds, abs=1e-3)
    names = {c["name"] for c in summary["checks"]}
    assert {"spread_then_reconverges", "ig_E_rises", "ig_I_lower", "pathways_distinct",
            "pathway_selectivity_rises"} <= names


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
    from synsem_ephys.train.config import TrainConfig, bundled_config_names, load_config
    from synsem_ephys.train.trainer import SCHEDULE_FIELDS

    bundled = {n: load_config(n).to_dict() for n in bundled_config_names()}
    free = set(SCHEDULE_FIELDS) | {"init_network"}

    def check(extra):
        """The bundled YAMLs a stage's stored config is re-creatable from (a run trained in stages may have
        changed its schedule on --resume, which the YAML's comments and the history say; a start file's path may
        differ)."""
        stored = TrainConfig.from_dict(extra["config"]).to_dict()
        assert extra["epochs_done"] == stored["epochs"]  # fully trained, not a stage of a run
        return [n for n, b in bundled.items()
                if {k for k, v in stored.items() if v != b[k]} <= free
                and (b["init_network"] is None) == (stored["init_network"] is None)]

    net = Network.load(shipped_network_path())
    # a network fine-tuned from a network file carries that file's record (MD5 and whole extra), which may
    # itself be a fine-tune: walk back to the run from scratch, and find each stage's config among the bundled ones
    chain = [net.extra]
    while "init_network" in chain[-1]:
        rec = chain[-1]["init_network"]
        assert len(rec["md5"]) == 32 and TrainConfig.from_dict(chain[-1]["config"]).init_network is not None
        chain.append(rec["extra"])
    assert TrainConfig.from_dict(chain[-1]["config"]).init_network is None
    for extra in chain:
        assert check(extra), f"no bundled config matches the stored config {extra['config']}"
    if len(chain) == 2:  # a two-stage network, as shipped until 8108d41: mnist_dale, then mnist_dale_finetune
        assert "mnist_dale_finetune" in check(chain[0]) and "mnist_dale" in check(chain[1])


def test_demo_mnist_images_come_from_the_bundled_subset_or_the_named_directory(tmp_path):
    """Which MNIST images an MNIST network gets: the bundled first 1,000, or a named directory's test split."""
    from synsem_ephys.demo import _test_inputs
    from synsem_ephys.train import data as ds
    from synsem_ephys.train.config import TrainConfig
    from synsem_ephys.encoding import latency_encode

    cfg = TrainConfig(dataset="mnist", hidden=[[6, 2]], dale=True, tau_mem_ms=10.0, zero_never_spikes=True)
    t, y = _test_inputs(cfg, 40, None)
    sub = ds.load_mnist_test_subset()
    assert t.shape == (40, 784) and np.array_equal(y, sub.y[:40])
    assert np.array_equal(t, latency_encode(sub.x[:40], tau_syn_ms=cfg.tau_syn_ms, t_early=cfg.t_early,
                                            t_late=cfg.t_late, zero_never_spikes=True))
    with pytest.raises(DataMissingError):
        _test_inputs(cfg, 5, tmp_path / "no_mnist_here")
    try:
        mnist = ds.mnist_dir()
    except DataMissingError:
        pytest.skip("no MNIST directory (../shared/data/mnist, SYNSEM_MNIST_DIR, SYNSEM_DATA)")
    t, y = _test_inputs(cfg, None, mnist)
    assert t.shape == (10000, 784) and np.array_equal(y, ds.load_mnist("test", mnist).y)


def test_default_falls_back_to_the_digits_network_without_the_bundled_mnist_images(tmp_path, monkeypatch, capsys):
    """Should an installation lack the bundled MNIST test images, the demo says so and runs the digits network
    (the default MNIST run on the bundled images is the ``demo`` fixture above)."""
    import shutil

    import synsem_ephys.demo as demo_mod
    from synsem_ephys.train import data as ds
    from synsem_ephys.train.config import TrainConfig

    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(DATA_DIR / "digits_dale.pt", data / "digits_dale.pt")
    cfg = TrainConfig(dataset="mnist", hidden=[[6, 2], [6, 2]], dale=True, tau_mem_ms=10.0)
    Network(cfg.network_spec()).save(data / "mnist_dale.pt", extra={"config": cfg.to_dict()})
    monkeypatch.setattr(demo_mod, "DATA_DIR", data)
    monkeypatch.setattr(ds.mnist, "MNIST_SUBSET_DIR", tmp_path / "no_subset_here")
    res = run_demo(tmp_path / "out", n_trials=30, progress=True)
    assert res.dataset == "digits" and res.network_path == data / "digits_dale.pt"
    assert "mnist_dale.pt: its test images are not available" in capsys.readouterr().err
    with pytest.raises(DataMissingError):  # asked for explicitly, the MNIST network does not fall back
        run_demo(tmp_path / "out3", network=data / "mnist_dale.pt", data_dir=tmp_path / "no_mnist_here",
                 progress=False)
