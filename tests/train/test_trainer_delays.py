"""Trainer with learnable delays: config fields, learned vs fixed delays, checkpoints, exact resume, best epoch."""

import pytest
import torch

from synsem_ephys.train.config import ConfigError, TrainConfig

sim = pytest.importorskip("synsem_ephys.sim")

from synsem_ephys.train.checkpoint import load_checkpoint  # noqa: E402
from synsem_ephys.train.trainer import CHECKPOINT_NAME, NETWORK_NAME, Trainer, network_from_checkpoint, \
    train_from_config  # noqa: E402


YY = dict(dataset="yinyang", train_size=300, test_size=200, hidden=[[30, 0]], epochs=2, batch_size=30, lr=0.01,
          weight_init_mean=[2.76, 7.36], weight_init_std=[1.47, 11.77], val_fraction=0.1, seed=1,
          delay_kind="synaptic", delay_max_ms=5.0, delay_init="uniform")


def _thetas(net):
    return {k: v.detach().clone() for k, v in net.delay_theta.items()}


def test_delay_config_fields_and_errors():
    c = TrainConfig(**YY)
    assert c.network_spec().delays == ("synaptic", "synaptic") and c.network_spec().delay_max_ms == (5.0, 5.0)
    assert TrainConfig.from_yaml(c.to_yaml()) == c
    per = TrainConfig(**dict(YY, delay_kind=["axonal", "none"], delay_max_ms=[2.0, 3.0]))
    assert per.network_spec().delays == ("axonal", "none") and per.network_spec().delay_max_ms == (2.0, 3.0)
    assert TrainConfig.from_yaml(per.to_yaml()) == per
    default = TrainConfig(**dict(YY, delay_kind="none", delay_max_ms=None))
    assert not default.network_spec().has_delays
    assert TrainConfig(delay_kind="axonal").network_spec().delay_max_ms == (5.0, 5.0)  # null = tau_syn_ms
    for bad, key in [(dict(delay_kind="soma"), "delay_kind"), (dict(delay_kind=["axonal"]), "delay_kind"),
                     (dict(delay_kind="none", delay_max_ms=2.0), "delay_max_ms"),
                     (dict(delay_max_ms=-1.0), "delay_max_ms"), (dict(delay_lr_factor=-0.1), "delay_lr_factor"),
                     (dict(delay_init="gamma"), "delay_init")]:
        with pytest.raises(ConfigError, match=key):
            TrainConfig(**dict(YY, **bad))


@pytest.mark.parametrize("kind", ["axonal", "dendritic", "synaptic"])
def test_delays_are_learned_and_fixed_delays_stay(kind):
    learned = Trainer(TrainConfig(**dict(YY, delay_kind=kind, epochs=1)), progress=False)
    start = _thetas(learned.network)
    assert len(learned.optimizer.param_groups) == 4
    assert [g["lr"] for g in learned.optimizer.param_groups][2:] == [0.01 * 0.5] * 2
    learned.fit()
    assert all(not torch.equal(start[k], v) for k, v in _thetas(learned.network).items())
    fixed = Trainer(TrainConfig(**dict(YY, delay_kind=kind, epochs=1, delay_lr_factor=0.0)), progress=False)
    assert len(fixed.optimizer.param_groups) == 2
    start = _thetas(fixed.network)
    fixed.fit()
    assert all(torch.equal(start[k], v) for k, v in _thetas(fixed.network).items())
    assert all(not v.requires_grad for v in fixed.network.delay_theta.values())
    # the same weight initialisation as without delays
    plain = Trainer(TrainConfig(**dict(YY, delay_kind="none", delay_max_ms=None, epochs=0)), progress=False)
    assert len(plain.network.delay_theta) == 0
    assert all(torch.equal(a, b) for a, b in zip(plain.network.weights,
                                                Trainer(TrainConfig(**dict(YY, epochs=0)), progress=False).network.weights))


def test_resume_with_delays_equals_uninterrupted_and_files_hold_the_delays(tmp_path):
    base = dict(YY, input_noise_ms=0.5)
    full = train_from_config(base, tmp_path / "full", progress=False)
    train_from_config(dict(base, epochs=1), tmp_path / "split", progress=False)
    resumed = train_from_config(base, tmp_path / "split", resume=True, progress=False)
    assert resumed.resumed_from_epoch == 1
    for a, b in zip(full.network.weights, resumed.network.weights):
        assert torch.equal(a, b)
    a, b = _thetas(full.network), _thetas(resumed.network)
    assert sorted(a) == ["0", "1"] and all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.test_accuracy == full.test_accuracy
    ck = load_checkpoint(tmp_path / "split" / CHECKPOINT_NAME)
    assert torch.equal(ck.tensors["delays.1"], b["1"])
    net = sim.Network.load(tmp_path / "split" / NETWORK_NAME)
    assert net.spec.delays == ("synaptic", "synaptic")
    assert all(torch.equal(net.delay_theta[k], b[k]) for k in b)
    last = network_from_checkpoint(tmp_path / "split" / CHECKPOINT_NAME)
    assert all(torch.equal(last.delay_theta[k], b[k]) for k in b)


def test_keep_best_keeps_the_best_epochs_delays(tmp_path):
    base = dict(YY, epochs=3, lr=0.05, keep_best=True, delay_lr_factor=2.0)
    res = train_from_config(base, tmp_path, progress=False)
    ck = load_checkpoint(tmp_path / CHECKPOINT_NAME)
    k = ck.state["best"]["epoch"]
    trainer = Trainer(TrainConfig(**base), progress=False)
    for _ in range(k):
        trainer.train_epoch()
    want = _thetas(trainer.network)
    assert all(torch.equal(res.network.delay_theta[j], want[j]) for j in want)
    best = network_from_checkpoint(tmp_path / CHECKPOINT_NAME, best=True)
    assert all(torch.equal(best.delay_theta[j], want[j]) for j in want)
    for i, W in enumerate(best.weights):
        assert torch.equal(W, ck.tensors[f"best.{i}"])
