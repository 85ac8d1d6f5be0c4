"""Sparse connectivity under Dale's law (train/rewiring.py): exact counts, fixed signs, DEEP R removal, RigL /
random regrowth on hand-built cases, L1 pressure, schedule, state; then the trainer's hook (exact resume)."""

import math

import pytest
import torch

from synsem_ephys.train.config import ConfigError, REWIRE_REGROW, TrainConfig
from synsem_ephys.train.rewiring import (EPSILON, MAX_SPARSITY, REGROW, Rewiring, active_count, regrow_choice,
                                         weight_units)


SIGNS = [[0] * 6, [1, 1, 1, 1, -1, -1], [1, 1, 1, -1]]  # input matrix free, then Dale rows (4E+2I), (3E+1I)
SHAPES = [(6, 6), (6, 4), (4, 3)]


def weights(seed=0):
    g = torch.Generator().manual_seed(seed)
    ws = [torch.randn(*s, generator=g, dtype=torch.float64) for s in SHAPES]
    for W, s in zip(ws[1:], SIGNS[1:]):  # Dale rows start with their sign
        W.copy_(W.abs() * torch.tensor(s, dtype=torch.float64)[:, None])
    return [torch.nn.Parameter(W) for W in ws]


def rewiring(p=0.5, regrow="rigl_signed", **kw):
    return Rewiring([p] * 3, regrow, SIGNS, [1.0, 1.0, 1.0], **kw)


def test_constants_agree_with_the_config():
    assert REGROW == REWIRE_REGROW
    assert MAX_SPARSITY == 1 - 2 ** -9 == 0.998046875
    assert active_count(0.875, 64) == 8 and active_count(0.0, 10) == 10


def test_weight_units_are_the_simulators_initialisation_unit():
    from synsem_ephys.sim import Network
    from synsem_ephys.sim.kernels import Kernel
    from synsem_ephys.spec import NetworkSpec

    for tau_mem in (5.0, 10.0):
        spec = NetworkSpec(6, hidden=((4, 2),), n_outputs=3, tau_syn_ms=5.0, tau_mem_ms=tau_mem)
        k = Kernel(5.0, tau_mem, 1.0)
        kpeak = float(k.K(torch.tensor(k.peak_time_ms, dtype=torch.float64)))
        assert weight_units(spec) == pytest.approx([1.0 / (kpeak * 6), 1.0 / (kpeak * 6)], rel=1e-12)
        assert Network(spec).weights[0].shape == (6, 6)


@pytest.mark.parametrize("p", [0.0, 0.5, 0.75, 0.875])
@pytest.mark.parametrize("sign_mode", ["init", "presynaptic"])
def test_initial_masks_counts_signs_and_rescaling(p, sign_mode):
    ws = weights()
    before = [W.detach().clone() for W in ws]
    rw = rewiring(p, sign_mode=sign_mode, seed=3, rescale=True).init_(ws)
    for l, (W, W0) in enumerate(zip(ws, before)):
        m, s = rw.masks[l], rw.signs[l]
        assert int(m.sum()) == rw.k_active[l] == round((1 - p) * W.numel())
        assert bool((W[~m] == 0).all())
        assert torch.allclose(W[m].abs(), W0[m].abs() / (1 - p), rtol=1e-15, atol=0)
        assert bool((s.to(torch.float64) * W >= 0).all())
        if l > 0:  # Dale rows: the presynaptic sign
            assert torch.equal(s, torch.tensor(SIGNS[l], dtype=torch.int8)[:, None].expand_as(s))
        elif sign_mode == "init":  # free rows: the initial weight's sign, per synapse
            assert torch.equal(s, torch.where(W0 >= 0, 1, -1).to(torch.int8))
        else:  # one sign per presynaptic unit
            assert bool((s == s[:, :1]).all())
    assert rw.violations(ws) == {"active_count": 0, "dormant_nonzero": 0, "sign": 0}
    again = rewiring(p, sign_mode=sign_mode, seed=3, rescale=True).init_(weights())  # the seed fixes the draw
    assert all(torch.equal(a, b) for a, b in zip(rw.masks, again.masks))


def test_fixed_mask_keeps_free_signs_and_zeroes_dormant_synapses():
    ws = weights()
    rw = rewiring(0.5, regrow=None).init_(ws)
    masks = [m.clone() for m in rw.masks]
    with torch.no_grad():
        ws[0].sub_(10.0)  # every input weight negative now, dormant ones too
    rw.step_(ws)
    assert all(torch.equal(a, b) for a, b in zip(masks, rw.masks))
    assert bool((ws[0][rw.masks[0]] < 0).all()) and bool((ws[0][~rw.masks[0]] == 0).all())  # free signs


@pytest.mark.parametrize("regrow", REGROW)
def test_exact_count_fixed_signs_and_dormant_zero_through_many_steps(regrow):
    ws = weights(1)
    rw = rewiring(0.75, regrow, seed=1, l1=0.05).init_(ws)
    signs = [s.clone() for s in rw.signs]
    g = torch.Generator().manual_seed(9)
    opt = torch.optim.Adam(ws, lr=0.2)
    total_removed = 0
    for _ in range(40):
        for W in ws:
            W.grad = torch.randn(W.shape, generator=g, dtype=torch.float64)
        rw.add_l1_grad_(ws)
        opt.step()  # moves dormant entries and flips signs: step_ must undo both
        removed, regrown = rw.step_(ws)
        assert removed == regrown
        total_removed += removed
        assert rw.violations(ws) == {"active_count": 0, "dormant_nonzero": 0, "sign": 0}
        assert all(torch.equal(a, b) for a, b in zip(signs, rw.signs))
    assert total_removed > 0
    stats = rw.epoch_stats()
    assert stats["removed"] == stats["regrown"] == total_removed and stats["active"] == rw.k_active
    assert rw.epoch_stats()["removed"] == 0


def test_rigl_signed_regrows_the_most_negative_signed_gradient_hand_built():
    mask = torch.tensor([[True, False, False], [False, True, False]])
    signs = torch.tensor([[1, 1, 1], [-1, -1, -1]], dtype=torch.int8)
    grad = torch.tensor([[-9.0, 0.5, -2.0], [-3.0, 7.0, 4.0]], dtype=torch.float64)
    # dormant flat indices 1, 2, 3, 5 with s * g = 0.5, -2.0, 3.0, -4.0: ascending -> 5, 2, 1, 3
    assert regrow_choice(grad, mask, signs, 2, "rigl_signed").tolist() == [5, 2]
    assert regrow_choice(grad, mask, signs, 4, "rigl_signed").tolist() == [5, 2, 1, 3]
    # RigL: the largest |g| among the dormant: 4.0 (5), 3.0 (3), 2.0 (2)
    assert regrow_choice(grad, mask, signs, 3, "rigl_abs").tolist() == [5, 3, 2]
    # ties go to the lowest flat index; non-finite gradients count as 0
    flat = torch.zeros(2, 3, dtype=torch.float64)
    flat[1, 2] = math.nan
    assert regrow_choice(flat, mask, signs, 3, "rigl_signed").tolist() == [1, 2, 3]
    r1 = regrow_choice(grad, mask, signs, 2, "random", torch.Generator().manual_seed(0))
    r2 = regrow_choice(grad, mask, signs, 2, "random", torch.Generator().manual_seed(0))
    assert torch.equal(r1, r2) and set(r1.tolist()) <= {1, 2, 3, 5}
    with pytest.raises(ValueError, match="dormant"):
        regrow_choice(grad, mask, signs, 5, "rigl_signed")


def test_removal_and_regrowth_in_one_step_hand_built():
    W = torch.nn.Parameter(torch.tensor([[0.5, 0.0], [0.0, 0.3]], dtype=torch.float64))
    rw = Rewiring([0.5], "rigl_signed", [[0, 0]], [1.0], rescale=False)
    rw.init_([W])
    rw.masks[0] = torch.tensor([[True, False], [False, True]])
    rw.signs[0] = torch.tensor([[1, 1], [1, 1]], dtype=torch.int8)
    rw.k_active = [2]
    with torch.no_grad():
        W.copy_(torch.tensor([[0.5, 0.2], [0.0, -0.1]], dtype=torch.float64))  # (1,1) crossed 0, (0,1) dormant moved
    grad = torch.tensor([[0.0, 1.0], [-5.0, 0.0]], dtype=torch.float64)
    assert rw.step_([W], grads=[grad]) == (1, 1)
    assert rw.masks[0].tolist() == [[True, False], [True, False]]  # (1,1) removed, (1,0) regrown
    assert W.detach().tolist() == [[0.5, 0.0], [EPSILON, 0.0]]


def test_dormant_synapse_stays_zero_after_a_step_with_a_nonzero_gradient():
    ws = weights(2)
    rw = rewiring(0.5, "rigl_signed", every=1000).init_(ws)  # step 0 rewires, then not for 999 steps
    rw.step_(ws)
    opt = torch.optim.Adam(ws, lr=0.5)
    for W in ws:
        W.grad = -torch.ones_like(W) * torch.tensor(1.0, dtype=torch.float64)
    opt.step()
    assert any(bool((W[~m] != 0).any()) for W, m in zip(ws, rw.masks))
    rw.step_(ws)
    assert all(bool((W[~m] == 0).all()) for W, m in zip(ws, rw.masks))


def test_l1_gradient_is_the_gradient_of_the_summed_magnitudes():
    ws = weights(3)
    rw = Rewiring([0.5] * 3, "random", SIGNS, [0.5, 2.0, 4.0], l1=0.01).init_(ws)
    for W in ws:
        W.grad = torch.zeros_like(W)
    rw.add_l1_grad_(ws)
    penalty = sum(lam * (s.to(torch.float64) * W * m).sum() for lam, s, W, m in zip(rw.l1_coef, rw.signs, ws, rw.masks))
    want = torch.autograd.grad(penalty, list(ws))
    assert rw.l1_coef == pytest.approx((0.02, 0.005, 0.0025))
    assert all(torch.allclose(W.grad, g, rtol=0, atol=1e-15) for W, g in zip(ws, want))


def test_schedule_every_and_t_end():
    rw = rewiring(0.5, "random", every=3, t_end_steps=7).init_(weights())
    now = []
    for _ in range(10):
        now.append(rw.rewires_now())
        rw.step_(weights())  # any weights of the right shapes
    assert now == [True, False, False, True, False, False, True, False, False, False]
    assert not rewiring(0.5, None).rewires_now()


def test_state_round_trip_continues_identically():
    def run(rw, ws, steps, g):
        for _ in range(steps):
            with torch.no_grad():
                for W in ws:
                    W.add_(torch.randn(W.shape, generator=g, dtype=torch.float64) * 0.5)
            rw.step_(ws)

    ws = weights(4)
    rw = rewiring(0.875, "random", seed=5).init_(ws)
    g = torch.Generator().manual_seed(1)
    run(rw, ws, 5, g)
    tensors, state, gen = rw.state()
    saved_w = [W.detach().clone() for W in ws]
    g_state = g.get_state()
    run(rw, ws, 5, g)
    ws2 = [torch.nn.Parameter(W.clone()) for W in saved_w]
    rw2 = rewiring(0.875, "random", seed=99).load_state(tensors, state, gen)
    g.set_state(g_state)
    run(rw2, ws2, 5, g)
    assert all(torch.equal(a, b) for a, b in zip(ws, ws2))
    assert all(torch.equal(a, b) for a, b in zip(rw.masks, rw2.masks)) and rw.step == rw2.step == 10


def test_errors():
    with pytest.raises(ValueError, match="sparsity"):
        rewiring(0.999)
    with pytest.raises(ValueError, match="regrow"):
        rewiring(0.5, "magnitude")
    with pytest.raises(ValueError, match="sign_mode"):
        rewiring(0.5, sign_mode="row")
    with pytest.raises(ValueError, match="at least one active synapse"):
        Rewiring([0.998], "random", [[0, 0]], [1.0]).init_([torch.nn.Parameter(torch.ones(2, 2))])


# --------------------------------------------------------------------------------------------- trainer
YY = dict(dataset="yinyang", train_size=300, test_size=200, hidden=[[20, 10]], dale=True, epochs=2, batch_size=30,
          lr=0.01, weight_init_mean=[2.76, 7.36], weight_init_std=[1.47, 11.77], val_fraction=0.1, seed=1,
          weight_init_inh_scale=0.5)


def _trainer(**kw):
    from synsem_ephys.train.trainer import Trainer

    return Trainer(TrainConfig(**dict(YY, **kw)), progress=False)


def test_config_fields_and_errors():
    c = TrainConfig(**dict(YY, sparsity=0.875, rewire_regrow="rigl_signed", rewire_l1=1e-3))
    assert c.sparsity == (0.875, 0.875) and TrainConfig.from_yaml(c.to_yaml()) == c
    assert TrainConfig(**dict(YY, sparsity=[0.5, 0.0])).sparsity == (0.5, 0.0)
    for bad, key in [(dict(rewire_regrow="random"), "sparsity"), (dict(rewire_l1=1e-3), "sparsity"),
                     (dict(sparsity=0.999), "sparsity"), (dict(sparsity=0.5, rewire_regrow="magnitude"), "rewire_regrow"),
                     (dict(sparsity=0.5, rewire_every=0), "rewire_every"),
                     (dict(sparsity=0.5, rewire_t_end=0.0), "rewire_t_end"),
                     (dict(sparsity=0.5, rewire_sign="row"), "rewire_sign"), (dict(rewire_rescale=True), "sparsity"),
                     (dict(sparsity=0.5, rewire_rescale="yes"), "rewire_rescale")]:
        with pytest.raises(ConfigError, match=key):
            TrainConfig(**dict(YY, **bad))


@pytest.mark.parametrize("regrow", [None, "rigl_signed"])
def test_rewire_rescale_divides_the_initial_active_weights_by_the_density(regrow):
    """``rewire_rescale``: the same masks and signs, the initial active weights / (1 - p) per matrix; off: not."""
    kw = dict(sparsity=[0.75, 0.5], rewire_regrow=regrow)
    plain, scaled = _trainer(**kw), _trainer(rewire_rescale=True, **kw)
    assert TrainConfig.from_yaml(scaled.config.to_yaml()).rewire_rescale is True
    for p, a, b, ma, mb in zip((0.75, 0.5), plain.network.weights, scaled.network.weights, plain.rewiring.masks,
                               scaled.rewiring.masks):
        assert torch.equal(ma, mb) and bool((a != 0).any())
        assert torch.allclose(b, a / (1.0 - p), rtol=1e-12, atol=0.0)


def test_dense_fixed_mask_equals_the_baseline_bit_for_bit():
    base = _trainer()
    base.fit()
    dense = _trainer(sparsity=0.0)
    assert dense.rewiring is not None and dense.rewiring.regrow is None
    dense.fit()
    assert all(torch.equal(a, b) for a, b in zip(base.network.weights, dense.network.weights))
    assert [m.train_loss for m in base.history] == [m.train_loss for m in dense.history]


@pytest.mark.parametrize("regrow", ["rigl_signed", "random"])
def test_one_epoch_smoke_run_keeps_dale_signs_and_the_exact_sparsity(regrow):
    tr = _trainer(epochs=1, sparsity=[0.5, 0.75], rewire_regrow=regrow, rewire_l1=0.05, lr=0.05)
    signs = [s.clone() for s in tr.rewiring.signs]
    tr.fit()
    net = tr.network
    assert net.dale_violations() == 0
    assert tr.rewiring.violations(net.weights) == {"active_count": 0, "dormant_nonzero": 0, "sign": 0}
    assert [int(m.sum()) for m in tr.rewiring.masks] == [active_count(0.5, 5 * 30), active_count(0.75, 30 * 3)]
    assert [int((W != 0).sum()) for W in net.weights] <= [active_count(0.5, 150), active_count(0.75, 90)]
    assert all(torch.equal(a, b) for a, b in zip(signs, tr.rewiring.signs))
    stats = tr.history[-1].rewiring
    assert stats["removed"] == stats["regrown"] > 0 and stats["active"] == [75, 22]


def test_resume_with_rewiring_equals_uninterrupted(tmp_path):
    from synsem_ephys.train.trainer import train_from_config

    base = dict(YY, sparsity=0.75, rewire_regrow="random", rewire_l1=0.05, lr=0.05, input_noise_ms=0.5, rewire_every=2)
    full = train_from_config(base, tmp_path / "full", progress=False)
    train_from_config(dict(base, epochs=1), tmp_path / "split", progress=False)
    resumed = train_from_config(base, tmp_path / "split", resume=True, progress=False)
    assert resumed.resumed_from_epoch == 1
    assert all(torch.equal(a, b) for a, b in zip(full.network.weights, resumed.network.weights))
    assert [m.rewiring for m in full.history] == [m.rewiring for m in resumed.history]
    assert sum(m.rewiring["regrown"] for m in full.history) > 0


def test_keep_best_restores_the_best_epochs_masks(tmp_path, monkeypatch):
    # validation accuracy falling epoch by epoch: epoch 1 is the best, the masks move on after it
    from synsem_ephys.train.checkpoint import load_checkpoint
    from synsem_ephys.train.trainer import CHECKPOINT_NAME, Trainer

    base = dict(YY, epochs=3, sparsity=[0.5, 0.75], rewire_regrow="random", rewire_l1=0.05, lr=0.05, keep_best=True)
    tr = Trainer(TrainConfig(**base), tmp_path, progress=False)
    evaluate = tr.evaluate

    def falling(split="val"):
        return (0.0, 1.0 - 0.1 * tr.epochs_done) if split == "val" else evaluate(split)

    monkeypatch.setattr(tr, "evaluate", falling)
    tr.train_epoch()
    want = [m.clone() for m in tr.rewiring.masks]
    want_w = [W.detach().clone() for W in tr.network.weights]
    tr.train_epoch()
    ck_path = tmp_path / "after2.pt"
    tr.save_checkpoint(ck_path)
    tr.fit()
    last = load_checkpoint(tmp_path / CHECKPOINT_NAME)  # the last epoch's masks
    assert tr.best[0] == 1 and not all(torch.equal(last.tensors[f"mask.{l}"], m) for l, m in enumerate(want))
    assert all(torch.equal(a, b) for a, b in zip(tr.network.weights, want_w))
    assert all(torch.equal(a, b) for a, b in zip(tr.rewiring.masks, want))
    assert tr.rewiring.violations(tr.network.weights) == {"active_count": 0, "dormant_nonzero": 0, "sign": 0}
    # the best masks travel in the checkpoint: a resumed run restores them too
    ck = load_checkpoint(ck_path)
    assert all(torch.equal(ck.tensors[f"best.mask.{l}"], m) for l, m in enumerate(want))
    again = Trainer(TrainConfig(**base), tmp_path / "again", progress=False, resume_from=ck_path)
    again.fit()
    assert all(torch.equal(a, b) for a, b in zip(again.rewiring.masks, want))


def test_langevin_noise_on_active_magnitudes_hand_built():
    ws = weights(2)
    rw = Rewiring([0.5] * 3, "random", SIGNS, [2.0, 1.0, 0.5], seed=4, temperature=0.3).init_(ws)
    before = [W.detach().clone() for W in ws]
    g = torch.Generator()
    g.set_state(rw.generator.get_state())
    rw.langevin_(ws, [0.01, 0.02, 0.04])
    for l, (W, W0, u, lr) in enumerate(zip(ws, before, [2.0, 1.0, 0.5], [0.01, 0.02, 0.04])):
        nu = torch.randn(W.shape, generator=g, dtype=torch.float64)
        want = W0 + rw.signs[l].to(torch.float64) * rw.masks[l] * math.sqrt(2 * lr * 0.3 * u) * nu
        assert torch.allclose(W, want, rtol=0, atol=1e-15)
        assert bool((W[~rw.masks[l]] == 0).all())
    with pytest.raises(ValueError, match="temperature"):
        Rewiring([0.5] * 3, None, SIGNS, [1.0] * 3, temperature=0.1)
    with pytest.raises(ValueError, match="temperature"):
        Rewiring([0.5] * 3, "random", SIGNS, [1.0] * 3, temperature=-0.1)
    with pytest.raises(ValueError, match="lrs"):
        rw.step_(ws)


def test_langevin_temperature_in_training_keeps_the_invariants_and_zero_draws_nothing():
    base = dict(epochs=1, sparsity=[0.5, 0.75], rewire_regrow="rigl_signed", rewire_l1=0.05, lr=0.05)
    with pytest.raises(ConfigError, match="rewire_temperature"):
        TrainConfig(**dict(YY, sparsity=0.5, rewire_temperature=0.1))
    zero = _trainer(**base)
    zero.fit()
    state0 = zero.rewiring.generator.get_state()
    fresh = _trainer(**base).rewiring.generator.get_state()
    assert torch.equal(state0, fresh)  # rigl_signed and T = 0: the rewiring's stream untouched
    hot = _trainer(**base, rewire_temperature=0.5)
    hot.fit()
    assert not torch.equal(hot.rewiring.generator.get_state(), fresh)
    assert not all(torch.equal(a, b) for a, b in zip(zero.network.weights, hot.network.weights))
    assert hot.network.dale_violations() == 0
    assert hot.rewiring.violations(hot.network.weights) == {"active_count": 0, "dormant_nonzero": 0, "sign": 0}
    assert hot.history[-1].rewiring["removed"] > zero.history[-1].rewiring["removed"]
