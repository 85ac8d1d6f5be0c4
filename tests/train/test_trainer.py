"""Trainer: learning well above chance, exact resume (also after a kill), Dale's law, stabilisers, errors."""

import json

import numpy as np
import pytest
import torch

from synsem_ephys.errors import DataMissingError
from synsem_ephys.train.config import ConfigError, TrainConfig

sim = pytest.importorskip("synsem_ephys.sim")
if not hasattr(sim, "Network"):  # the simulator's Network is being written in parallel
    pytest.skip("synsem_ephys.sim.Network not available yet", allow_module_level=True)

from synsem_ephys.train.trainer import CHECKPOINT_NAME, NETWORK_NAME, Trainer, train_from_config  # noqa: E402



# A small Yin-Yang problem that trains in about a second (chance = 1/3).
# Initial weights: fast-and-deep's N(1.5, 0.8), N(0.5, 0.8) in the simulator's units (x n_pre / e).
YY = dict(dataset="yinyang", train_size=600, test_size=300, hidden=[[40, 0]], epochs=4, batch_size=30, lr=0.01,
          weight_init_mean=[2.76, 7.36], weight_init_std=[1.47, 11.77], val_fraction=0.1, seed=1)


def _weights(net):
    return [W.detach().clone() for W in net.weights]


def _same_history(a, b):
    strip = [{k: v for k, v in m.__dict__.items() if k != "seconds"} for m in a]
    return strip == [{k: v for k, v in m.__dict__.items() if k != "seconds"} for m in b]


def test_short_yinyang_run_learns_well_above_chance(tmp_path):
    cfg = TrainConfig(**YY)
    trainer = Trainer(cfg, tmp_path, progress=True)
    _, acc0 = trainer.evaluate("test")
    res = trainer.fit()
    assert len(res.history) == 4 and res.resumed_from_epoch == 0
    assert res.test_accuracy >= 0.7 and res.test_accuracy > acc0 + 0.2, (acc0, res.test_accuracy)
    assert res.history[-1].train_loss < res.history[0].train_loss
    files = {p.name for p in tmp_path.iterdir()}
    assert {CHECKPOINT_NAME, "config.yaml", "metrics.json"} <= files
    assert TrainConfig.from_yaml(tmp_path / "config.yaml") == cfg
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test_accuracy"] == res.test_accuracy and len(metrics["history"]) == 4
    net = sim.Network.load(tmp_path / NETWORK_NAME)
    assert all(torch.equal(a, b) for a, b in zip(_weights(net), _weights(res.network)))
    assert net.extra["test_accuracy"] == res.test_accuracy and net.extra["config"] == cfg.to_dict()


def test_resume_equals_uninterrupted(tmp_path):
    base = dict(YY, epochs=2, train_size=300, input_noise_ms=0.5, lr_step_epochs=1, lr_gamma=0.5)
    full = train_from_config(base, tmp_path / "full", progress=False)
    train_from_config(dict(base, epochs=1), tmp_path / "split", progress=False)
    resumed = train_from_config(base, tmp_path / "split", resume=True, progress=False)
    assert resumed.resumed_from_epoch == 1
    for a, b in zip(_weights(full.network), _weights(resumed.network)):
        assert torch.equal(a, b)
    assert _same_history(full.history, resumed.history)
    assert [m.lr for m in resumed.history] == [0.01, 0.005]
    assert resumed.test_accuracy == full.test_accuracy


def test_resume_with_a_new_learning_rate_schedule(tmp_path):
    """--allow-schedule-change: epochs before the resume keep their rate and noise, the rest use the new ones."""
    base = dict(YY, epochs=1, train_size=60, test_size=30, lr=0.01, lr_step_epochs=1, lr_gamma=0.5)
    train_from_config(base, tmp_path / "run", progress=False)
    new = dict(base, epochs=3, lr=0.004, lr_gamma=0.25, lr_step_epochs=2, input_noise_ms=0.5)
    res = train_from_config(new, tmp_path / "run", resume=True, progress=False, allow_schedule_change=True)
    assert [m.lr for m in res.history] == [0.01, 0.004, 0.001]
    assert [m.input_noise_ms for m in res.history] == [0.0, 0.5, 0.5]
    from synsem_ephys.train.checkpoint import load_checkpoint

    assert load_checkpoint(tmp_path / "run" / CHECKPOINT_NAME).state["config"]["lr"] == 0.004  # the new schedule
    from synsem_ephys.cli import main

    assert main(["train", "--config", str(tmp_path / "run" / "config.yaml"), "--out", str(tmp_path / "x"),
                 "--allow-schedule-change", "--no-progress"]) == 2


def test_keep_best_selects_the_best_validation_epoch_also_across_a_resume(tmp_path):
    base = dict(YY, epochs=4, train_size=300, lr=0.05)  # a large rate: validation accuracy moves between epochs
    last = train_from_config(base, tmp_path / "last", progress=False)
    val = [m.val_accuracy for m in last.history]
    best_epoch = int(np.argmax(val)) + 1  # first maximum
    assert best_epoch < 4  # otherwise "best" and "last" would coincide and the test could not fail
    train_from_config(dict(base, epochs=2), tmp_path / "best", progress=False)
    best = train_from_config(dict(base, keep_best=True), tmp_path / "best", resume=True, progress=False)
    assert _same_history(last.history, best.history)  # selection does not change the trajectory
    trainer = Trainer(TrainConfig(**base), progress=False)
    for _ in range(best_epoch):
        trainer.train_epoch()
    for a, b in zip(_weights(trainer.network), _weights(best.network)):
        assert torch.equal(a, b)  # the shipped weights are those of the best validation epoch
    net = sim.Network.load(tmp_path / "best" / NETWORK_NAME)
    assert net.extra["selected_epoch"] == best_epoch and net.extra["epochs_done"] == 4
    assert json.loads((tmp_path / "best" / "metrics.json").read_text())["selected_epoch"] == best_epoch
    assert sim.Network.load(tmp_path / "last" / NETWORK_NAME).extra["selected_epoch"] == 4
    with pytest.raises(ConfigError, match="keep_best"):
        TrainConfig(**dict(base, keep_best=True, val_fraction=0.0))


def test_network_from_checkpoint_last_and_best(tmp_path):
    from synsem_ephys.errors import DataFormatError
    from synsem_ephys.train.checkpoint import load_checkpoint, save_checkpoint
    from synsem_ephys.train.trainer import network_from_checkpoint

    res = train_from_config(dict(YY, epochs=3, train_size=300, lr=0.05), tmp_path, progress=False)
    ck = tmp_path / CHECKPOINT_NAME
    last = network_from_checkpoint(ck)
    assert all(torch.equal(a, b) for a, b in zip(_weights(last), _weights(res.network)))
    assert last.extra["epochs_done"] == 3 and last.extra["config"] == res.config.to_dict()
    best = network_from_checkpoint(ck, best=True)
    state = load_checkpoint(ck)
    k = state.state["best"]["epoch"]
    assert best.extra["selected_epoch"] == k and best.extra["val_accuracy"] == max(m.val_accuracy for m in res.history)
    assert all(torch.equal(W, state.tensors[f"best.{i}"]) for i, W in enumerate(_weights(best)))
    best.save(tmp_path / "best.pt", extra=best.extra)  # what `synsem-ephys demo --network` reads
    assert sim.Network.load(tmp_path / "best.pt").extra["selected_epoch"] == k
    old = tmp_path / "old.pt"  # a checkpoint from before best-epoch tracking
    save_checkpoint(old, tensors={k2: v for k2, v in state.tensors.items() if not k2.startswith("best.")},
                    state={k2: v for k2, v in state.state.items() if k2 != "best"})
    network_from_checkpoint(old)
    with pytest.raises(DataFormatError, match="best"):
        network_from_checkpoint(old, best=True)


def test_resume_after_kill_loses_at_most_one_epoch(tmp_path, monkeypatch):
    base = dict(YY, epochs=3, train_size=300, input_noise_ms=0.5)
    full = train_from_config(base, tmp_path / "full", progress=False)
    calls = {"n": 0}
    original = Trainer.train_step

    def dying_step(self, *args):
        calls["n"] += 1
        if calls["n"] == 15:  # in the middle of epoch 2 (9 batches per epoch)
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(Trainer, "train_step", dying_step)
    with pytest.raises(KeyboardInterrupt):
        train_from_config(base, tmp_path / "killed", progress=False)
    monkeypatch.setattr(Trainer, "train_step", original)
    assert [p.name for p in (tmp_path / "killed").iterdir() if p.name.startswith(".")] == []  # no temp files
    resumed = train_from_config(base, tmp_path / "killed", resume=True, progress=False)
    assert resumed.resumed_from_epoch == 1
    for a, b in zip(_weights(full.network), _weights(resumed.network)):
        assert torch.equal(a, b)
    assert _same_history(full.history, resumed.history)


def test_dale_signs_after_training_with_bumping():
    pytest.importorskip("sklearn")
    cfg = TrainConfig(dataset="digits", train_size=300, test_size=100, hidden=[[20, 8], [12, 4]], dale=True,
                      tau_mem_ms=10.0, epochs=2, batch_size=25, lr=0.01, weight_bump_value=0.01, max_silent_fraction=0.0,
                      max_bump_iterations=3, val_fraction=0.0)
    trainer = Trainer(cfg, progress=False)
    res = trainer.fit()
    spec = cfg.network_spec()
    assert sum(m.n_bumps for m in res.history) > 0  # the stabiliser acted ...
    for layer, W in enumerate(res.network.weights):  # ... and Dale's law still holds
        signs = torch.tensor(spec.presyn_signs(layer))
        assert torch.all(W[signs > 0] >= 0) and torch.all(W[signs < 0] <= 0)
    assert np.isnan(res.history[0].val_accuracy)  # no validation split asked for


def test_bumping_raises_only_excitatory_rows_under_dale():
    """A bump must strengthen excitation; adding to inhibitory rows would weaken (and after clamping erase) them."""
    pytest.importorskip("sklearn")
    cfg = TrainConfig(dataset="digits", train_size=50, test_size=20, hidden=[[20, 8]], dale=True, tau_mem_ms=10.0,
                      epochs=1, batch_size=25, weight_bump_value=0.05, max_silent_fraction=0.0, bump_exponential=False,
                      max_bump_iterations=1, val_fraction=0.0, weight_init_mean=[0.05, 0.05],
                      weight_init_std=[0.5, 0.5])
    trainer = Trainer(cfg, progress=False)
    net = trainer.network
    before = _weights(net)
    outs = net(trainer._t["train"][0][:25])
    assert trainer._bump(outs)  # weak init: some neurons silent, so a layer is bumped
    layer = next(l for l, (a, b) in enumerate(zip(before, _weights(net))) if not torch.equal(a, b))
    after, s = net.weights[layer].detach(), net.sign(layer)
    silent = torch.isinf(outs[layer]).any(dim=0)
    rows = s >= 0
    assert torch.allclose(after[rows][:, silent], before[layer][rows][:, silent] + 0.05)
    assert torch.equal(after[~rows], before[layer][~rows])  # inhibitory rows untouched
    assert torch.equal(after[:, ~silent], before[layer][:, ~silent])


def test_balanced_calibrated_init_and_per_layer_learning_rates():
    pytest.importorskip("sklearn")
    cfg = TrainConfig(dataset="digits", train_size=200, test_size=50, hidden=[[30, 10], [30, 10]], dale=True,
                      tau_mem_ms=10.0, epochs=2, batch_size=25, lr=0.01, lr_step_epochs=1, lr_gamma=0.5,
                      weight_bump_value=0.0, val_fraction=0.0, weight_init_inh_balance=[1.0, 1.0, 0.5],
                      init_calibrate_fraction=[0.5, 0.9], init_calibrate_output=[0.9, 1.0], init_calibrate_samples=100,
                      lr_layer_factors=[0.5, 1.0, 2.0])
    trainer = Trainer(cfg, progress=False)
    net = trainer.network
    for layer, g in ((1, 1.0), (2, 0.5)):  # mean summed I weight = g x mean summed E weight (calibration keeps it)
        W, s = net.weights[layer].detach(), net.sign(layer)
        exc, inh = W[s > 0].sum(dim=0).mean(), -W[s < 0].sum(dim=0).mean()
        assert torch.isclose(g * exc, inh, rtol=1e-9), (layer, exc, inh)
    assert net.dale_violations() == 0
    outs = net(trainer._t["train"][0][:100])
    fired = [float(torch.isfinite(o).double().mean()) for o in outs]
    assert all(0.5 <= f <= 0.9 for f in fired[:-1]) and 0.9 <= fired[-1] <= 1.0, fired
    assert [g["lr"] for g in trainer.optimizer.param_groups] == [0.005, 0.01, 0.02]
    trainer.train_epoch()
    trainer.train_epoch()  # second epoch: step schedule x0.5, factors kept
    assert [g["lr"] for g in trainer.optimizer.param_groups] == [0.0025, 0.005, 0.01]


# A small digits problem (8 x 8 images) under Dale's law for the image-only options.
DIGITS = dict(dataset="digits", train_size=200, test_size=60, hidden=[[20, 8]], dale=True, tau_mem_ms=10.0,
              epochs=2, batch_size=25, lr=0.01, val_fraction=0.1, seed=2)


def test_shift_augmentation_resumes_exactly_and_is_recorded(tmp_path):
    pytest.importorskip("sklearn")
    base = dict(DIGITS, augment_shift_px=2, input_noise_ms=0.3)
    full = train_from_config(base, tmp_path / "full", progress=False)
    train_from_config(dict(base, epochs=1), tmp_path / "split", progress=False)
    resumed = train_from_config(base, tmp_path / "split", resume=True, progress=False)
    for a, b in zip(_weights(full.network), _weights(resumed.network)):
        assert torch.equal(a, b)  # the shift stream is checkpointed and restored
    assert _same_history(full.history, resumed.history)
    assert [m.augment_shift_px for m in full.history] == [2, 2]
    plain = train_from_config(dict(DIGITS, input_noise_ms=0.3), tmp_path / "plain", progress=False)
    assert not all(torch.equal(a, b) for a, b in zip(_weights(full.network), _weights(plain.network)))
    assert [m.augment_shift_px for m in plain.history] == [0, 0]


def test_augmentation_switched_on_when_resuming_a_checkpoint_without_its_stream(tmp_path):
    """Checkpoints written before augmentation existed hold no 'augment' generator state; they still resume."""
    pytest.importorskip("sklearn")
    from synsem_ephys.train.checkpoint import load_checkpoint, save_checkpoint

    train_from_config(dict(DIGITS, epochs=1), tmp_path, progress=False)
    ck = load_checkpoint(tmp_path / CHECKPOINT_NAME)
    old_rng = {k: v for k, v in ck.torch_rng.items() if k != "augment"}
    save_checkpoint(tmp_path / CHECKPOINT_NAME, tensors=ck.tensors, state=ck.state, optimizer=ck.optimizer,
                    torch_rng=old_rng)
    with pytest.raises(ConfigError, match="augment_shift_px"):  # a change of the run's regularisers ...
        train_from_config(dict(DIGITS, augment_shift_px=1), tmp_path, resume=True, progress=False)
    res = train_from_config(dict(DIGITS, augment_shift_px=1), tmp_path, resume=True, progress=False,
                            allow_schedule_change=True)  # ... needs --allow-schedule-change
    assert [m.augment_shift_px for m in res.history] == [0, 1]


def test_init_network_starts_from_a_network_file_and_records_it(tmp_path):
    pytest.importorskip("sklearn")
    from synsem_ephys.train.data import idx_md5

    first = train_from_config(DIGITS, tmp_path / "first", progress=False)
    path = tmp_path / "first" / NETWORK_NAME
    cfg = TrainConfig(**dict(DIGITS, init_network=str(path), lr=0.002))
    trainer = Trainer(cfg, tmp_path / "second", progress=False)
    for a, b in zip(_weights(trainer.network), _weights(first.network)):
        assert torch.equal(a, b)  # no random initialisation, balance or calibration on top
    assert trainer.evaluate("test")[1] == first.test_accuracy
    res = trainer.fit()
    assert not torch.equal(res.network.weights[0], first.network.weights[0])  # it trained on from there
    rec = sim.Network.load(tmp_path / "second" / NETWORK_NAME).extra["init_network"]
    assert rec["path"] == str(path) and rec["md5"] == idx_md5(path)
    assert rec["extra"]["test_accuracy"] == first.test_accuracy  # the parent's record travels along
    # a resume keeps the record of the file the run started from, even if that path now holds another file
    train_from_config(dict(DIGITS, seed=5), tmp_path / "other", progress=False)
    import shutil

    shutil.copyfile(tmp_path / "other" / NETWORK_NAME, path)
    again = train_from_config(dict(cfg.to_dict(), epochs=3), tmp_path / "second", resume=True, progress=False)
    assert again.resumed_from_epoch == 2
    assert sim.Network.load(tmp_path / "second" / NETWORK_NAME).extra["init_network"] == rec
    with pytest.raises(ConfigError, match=r"init_network.*spec"):
        Trainer(TrainConfig(**dict(DIGITS, hidden=[[21, 8]], init_network=str(path))), progress=False)
    with pytest.raises(DataMissingError, match="path"):
        Trainer(TrainConfig(**dict(DIGITS, init_network=str(tmp_path / "none.pt"))), progress=False)
    # a resume does not read the start file again: with it gone (a run moved to another machine) the
    # fine-tune continues exactly as with a file in place
    shutil.copytree(tmp_path / "second", tmp_path / "second_b")
    more = dict(cfg.to_dict(), epochs=4)
    with_file = train_from_config(more, tmp_path / "second_b", resume=True, progress=False)
    path.unlink()
    without = train_from_config(more, tmp_path / "second", resume=True, progress=False)
    assert without.resumed_from_epoch == 3 and [m.epoch for m in without.history] == [1, 2, 3, 4]
    for a, b in zip(_weights(without.network), _weights(with_file.network)):
        assert torch.equal(a, b)
    assert sim.Network.load(tmp_path / "second" / NETWORK_NAME).extra["init_network"] == rec


def test_dropping_exploding_gradients():
    cfg = TrainConfig(**dict(YY, epochs=1, train_size=120, max_grad_per_neuron=1e-300, weight_bump_value=0.0))
    trainer = Trainer(cfg, progress=False)
    before = _weights(trainer.network)
    res = trainer.fit()
    assert res.history[0].n_dropped_grads > 0
    for a, b in zip(before, _weights(trainer.network)):  # every gradient dropped: Adam never moves
        assert torch.equal(a, b)


def test_bad_configs_and_misuse(tmp_path):
    with pytest.raises(ConfigError, match="batch_size"):
        train_from_config(dict(YY, batch_size=0), tmp_path / "a", progress=False)
    with pytest.raises(ConfigError, match="Did you mean"):
        train_from_config(dict(YY, batchsize=10), tmp_path / "a", progress=False)
    with pytest.raises(DataMissingError):
        train_from_config("no_such_config", tmp_path / "a", progress=False)
    with pytest.raises(ValueError, match="config"):
        Trainer({"dataset": "yinyang"})
    run = dict(YY, epochs=1, train_size=60, test_size=30)
    train_from_config(run, tmp_path / "b", progress=False)
    with pytest.raises(FileExistsError, match="resume"):
        train_from_config(run, tmp_path / "b", progress=False)
    with pytest.raises(ConfigError, match="lr"):
        train_from_config(dict(run, lr=0.02), tmp_path / "b", resume=True, progress=False)
    with pytest.raises(ConfigError, match="allow_schedule_change"):
        train_from_config(dict(run, lr=0.02), tmp_path / "b", resume=True, progress=False)
    with pytest.raises(ConfigError, match="batch_size"):  # only the schedule may change
        train_from_config(dict(run, lr=0.02, batch_size=7), tmp_path / "b", resume=True, progress=False,
                          allow_schedule_change=True)
    # nothing to do when the checkpoint already has all epochs
    again = train_from_config(run, tmp_path / "b", resume=True, progress=False)
    assert again.resumed_from_epoch == 1 and len(again.history) == 1
    from synsem_ephys.train.data import yin_yang

    with pytest.raises(ValueError, match="train_data"):
        Trainer(TrainConfig(**YY), train_data=yin_yang(50, 0, bias=False), test_data=yin_yang(10, 1))


def test_device_argument(tmp_path):
    """'cpu' is the default; a bad or unavailable device is refused naming the argument."""
    run = dict(YY, epochs=1, train_size=90, test_size=30)
    a = train_from_config(run, tmp_path / "a", progress=False)
    b = train_from_config(run, tmp_path / "b", progress=False, device="cpu")
    assert all(torch.equal(x, y) for x, y in zip(_weights(a.network), _weights(b.network)))
    with pytest.raises(ValueError, match="device"):
        Trainer(TrainConfig(**run), device="tpu:banana")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device.*cuda.is_available"):
            Trainer(TrainConfig(**run), device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_run_matches_cpu_and_resumes_across_devices(tmp_path):
    """Same batches and noise on both devices: float64 weights agree to rounding; a GPU checkpoint resumes on the CPU."""
    run = dict(YY, epochs=2, train_size=300, input_noise_ms=0.5, dtype="float64")
    cpu = train_from_config(run, tmp_path / "cpu", progress=False)
    gpu = train_from_config(run, tmp_path / "gpu", progress=False, device="cuda")
    assert all(W.device.type == "cuda" for W in gpu.network.weights)
    for x, y in zip(_weights(cpu.network), _weights(gpu.network)):
        assert torch.allclose(x, y.cpu(), rtol=1e-6, atol=1e-9)
    train_from_config(dict(run, epochs=1), tmp_path / "mixed", progress=False, device="cuda")
    mixed = train_from_config(run, tmp_path / "mixed", resume=True, progress=False, device="cpu")
    for x, y in zip(_weights(cpu.network), _weights(mixed.network)):
        assert torch.allclose(x, y, rtol=1e-6, atol=1e-9)
