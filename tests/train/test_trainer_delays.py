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


def test_delay_l2_and_eval_rounding_config_fields_and_errors():
    c = TrainConfig(**dict(YY, delay_l2=0.1, eval_round_delays_ms=1.0))
    assert TrainConfig.from_yaml(c.to_yaml()) == c and c.delay_l2 == 0.1 and c.eval_round_delays_ms == 1.0
    assert TrainConfig().delay_l2 == 0.0 and TrainConfig().eval_round_delays_ms is None
    no = dict(YY, delay_kind="none", delay_max_ms=None)
    for bad, key in [(dict(YY, delay_l2=-1.0), "delay_l2"), (dict(YY, eval_round_delays_ms=0.0), "eval_round_delays_ms"),
                     (dict(no, delay_l2=0.1), "delay_l2"), (dict(no, eval_round_delays_ms=1.0), "eval_round_delays_ms")]:
        with pytest.raises(ConfigError, match=key):
            TrainConfig(**bad)


def test_delay_l2_adds_the_gradient_of_the_penalty_and_pulls_the_delays_down():
    base = dict(YY, epochs=1, delay_lr_factor=2.0)
    plain = Trainer(TrainConfig(**base), progress=False)
    pen = Trainer(TrainConfig(**dict(base, delay_l2=0.5)), progress=False)
    x, y = plain._t["train"][0][:30], plain._t["train"][1][:30]
    # one step's delay gradients differ by exactly the penalty's gradient
    for tr in (plain, pen):
        tr.optimizer.zero_grad(set_to_none=True)
        from synsem_ephys.train.loss import ttfs_loss
        ttfs_loss(tr.network(x)[-1], y, 5.0, tr.config.xi, tr.config.alpha, tr.config.beta).backward()
        tr._drop_grads()
    for k in plain.network.delay_theta:
        th = plain.network.delay_theta[k].detach().clone().requires_grad_(True)
        d = 5.0 * torch.sigmoid(th)
        (0.5 * (d / 5.0).square().mean()).backward()
        assert torch.allclose(pen.network.delay_theta[k].grad - plain.network.delay_theta[k].grad, th.grad,
                              rtol=1e-9, atol=1e-15)
    a = Trainer(TrainConfig(**base), progress=False)
    b = Trainer(TrainConfig(**dict(base, delay_l2=5.0)), progress=False)
    a.fit(), b.fit()
    ma = sum(float(a.network.delays_ms(l).detach().mean()) for l in range(2))
    mb = sum(float(b.network.delays_ms(l).detach().mean()) for l in range(2))
    assert mb < ma
    assert [m.train_loss for m in a.history] != [m.train_loss for m in b.history]


def test_evaluation_with_rounded_delays():
    tr = Trainer(TrainConfig(**dict(YY, epochs=1)), progress=False)
    tr.fit()
    net = tr.network
    cont = tr.evaluate("test")
    with net.rounded_delays(1.0):
        want = tr.evaluate("test", round_delays_ms=None)  # inside the context: explicit None is continuous again
    assert want == cont and net.round_delays_ms is None
    with net.rounded_delays(1.0):
        out = net(tr._t["test"][0])[-1]
    from synsem_ephys.train.loss import accuracy
    assert tr.evaluate("test", round_delays_ms=1.0)[1] == accuracy(out, tr._t["test"][1])
    assert net.round_delays_ms is None  # restored
    cfg = Trainer(TrainConfig(**dict(YY, epochs=0, eval_round_delays_ms=1.0)), progress=False)
    with torch.no_grad():
        for a, b in zip(cfg._params(), tr._params()):
            a.copy_(b)
    assert cfg.evaluate("test") == tr.evaluate("test", round_delays_ms=1.0)
    assert cfg.evaluate("test", round_delays_ms=None) == cont
    plain = Trainer(TrainConfig(**dict(YY, epochs=0, delay_kind="none", delay_max_ms=None)), progress=False)
    with pytest.raises(ValueError, match="round_delays_ms"):
        plain.evaluate("test", round_delays_ms=1.0)


def test_the_network_at_initialisation_is_stored_bit_for_bit_and_named_by_the_network_file(tmp_path):
    from synsem_ephys.errors import DataFormatError, DataMissingError
    from synsem_ephys.train.data import idx_md5
    from synsem_ephys.train.trainer import INITIAL_NETWORK_NAME, initial_network

    cfg = dict(YY, epochs=1, sparsity=0.5, init_calibrate_fraction=[0.7, 0.9])  # masks and calibration are part of the init
    fresh = Trainer(TrainConfig(**dict(cfg, epochs=0)), progress=False)  # the init, nothing trained
    masks = [m.clone() for m in fresh.rewiring.masks]
    res = train_from_config(cfg, tmp_path / "run", progress=False)
    path = tmp_path / "run" / NETWORK_NAME
    net = sim.Network.load(path)
    assert net.extra["initial_network_file"] == {"path": INITIAL_NETWORK_NAME,
                                                  "md5": idx_md5(tmp_path / "run" / INITIAL_NETWORK_NAME)}
    init = initial_network(path)
    assert init is not None and init.spec == net.spec and initial_network(path, network=net) is not None
    for a, b, m in zip(init.weights, fresh.network.weights, masks):
        assert torch.equal(a, b) and torch.equal(a != 0, m)  # bit for bit; dormant synapses are 0
    assert all(torch.equal(init.delay_theta[k], v) for k, v in fresh.network.delay_theta.items())
    assert not all(torch.equal(a, b) for a, b in zip(init.weights, res.network.weights))  # not the trained one
    # a resumed run keeps the file of its start and names it again
    train_from_config(dict(cfg, epochs=2), tmp_path / "run", resume=True, progress=False)
    again = initial_network(path)
    assert all(torch.equal(a, b) for a, b in zip(again.weights, init.weights))
    # another file in its place, or none: errors naming the file
    other = sim.Network(net.spec, seed=9)
    other.save(tmp_path / "run" / INITIAL_NETWORK_NAME)
    with pytest.raises(DataFormatError, match="md5"):
        initial_network(path)
    (tmp_path / "run" / INITIAL_NETWORK_NAME).unlink()
    with pytest.raises(DataMissingError, match=INITIAL_NETWORK_NAME):
        initial_network(path)
    # without delays: no file, no entry
    plain = train_from_config(dict(YY, epochs=1, delay_kind="none", delay_max_ms=None), tmp_path / "plain",
                              progress=False)
    assert plain.network is not None
    assert not (tmp_path / "plain" / INITIAL_NETWORK_NAME).exists()
    assert "initial_network_file" not in sim.Network.load(tmp_path / "plain" / NETWORK_NAME).extra
    assert initial_network(tmp_path / "plain" / NETWORK_NAME) is None
