"""SSDP: the update against a loop over pairs (numpy and torch), the spec's unit tests, the trainer's post-step."""

import math
import time

import numpy as np
import pytest
import torch

from synsem_ephys.train.config import ConfigError, TrainConfig
from synsem_ephys.train.ssdp import VARIANTS, cosine_factor, ssdp_amplitudes, ssdp_update, start_epoch
from synsem_ephys.train.trainer import CHECKPOINT_NAME, Trainer, train_from_config

INF = math.inf


def _loop(t_pre, t_post, a_plus, a_base, sigma, variant, sentinel, delays=None, signs=None, mask=None):
    """ΔW by the equations, one (sample, pre, post) triple at a time."""
    B, n_pre = t_pre.shape
    n_post = t_post.shape[1]
    out = np.zeros((n_pre, n_post))
    for i in range(n_pre):
        for j in range(n_post):
            acc = 0.0
            d = 0.0 if delays is None else delays[i, j]
            for b in range(B):
                ti, tj = t_pre[b, i], t_post[b, j]
                s = math.isfinite(ti) and math.isfinite(tj)
                if variant == "no_silent" and not s:
                    continue  # G = 0
                ti = ti if math.isfinite(ti) else sentinel
                tj = tj if math.isfinite(tj) else sentinel
                g = math.exp(-((tj - (ti + d)) ** 2) / (2 * sigma ** 2))
                pot = s and (variant != "causal" or ti + d <= tj)
                acc += (a_plus * g if pot else 0.0) - (0.0 if s else a_base * g)
            w = min(1.0, max(-1.0, acc / B))
            if mask is not None:
                w *= mask[i, j]
            if variant == "sign_aware" and signs is not None and signs[i] < 0:
                w = -w
            out[i, j] = w
    return out


def _times(rng, shape, p_silent=0.3, hi=10.0):
    t = rng.uniform(0, hi, shape)
    t[rng.random(shape) < p_silent] = INF
    return t


@pytest.mark.parametrize("variant", VARIANTS)
def test_update_equals_a_loop_over_pairs_in_numpy_and_torch(variant):
    rng = np.random.default_rng(1)
    pre, post = _times(rng, (7, 5)), _times(rng, (7, 4))
    delays = rng.uniform(0, 2, (5, 4))
    signs = np.array([1, 1, -1, 0, -1])
    mask = (rng.random((5, 4)) < 0.7).astype(float)
    kw = dict(a_plus=0.3, a_base=0.1, sigma_ms=1.5, variant=variant, t_sentinel_ms=50.0)
    want = _loop(pre, post, 0.3, 0.1, 1.5, variant, 50.0, delays, signs, mask)
    got = ssdp_update(pre, post, delays_ms=delays, signs=signs, mask=mask, **kw)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert not np.allclose(want, 0)
    tt = ssdp_update(torch.tensor(pre), torch.tensor(post), delays_ms=torch.tensor(delays), signs=torch.tensor(signs),
                     mask=torch.tensor(mask), **kw)
    assert isinstance(tt, torch.Tensor) and tt.dtype == torch.float64
    np.testing.assert_allclose(tt.numpy(), got, rtol=1e-12, atol=1e-15)
    # without delays, mask, signs; a batch larger than one chunk
    from synsem_ephys.train import ssdp as mod

    want0 = _loop(pre, post, 0.3, 0.1, 1.5, variant, 50.0)
    np.testing.assert_allclose(ssdp_update(pre, post, **kw), want0, rtol=1e-12, atol=1e-15)
    old, mod._CHUNK_ENTRIES = mod._CHUNK_ENTRIES, 25  # 1 sample per chunk
    try:
        np.testing.assert_allclose(ssdp_update(pre, post, **kw), want0, rtol=1e-12, atol=1e-15)
    finally:
        mod._CHUNK_ENTRIES = old


def test_axonal_and_dendritic_delays_broadcast():
    rng = np.random.default_rng(2)
    pre, post = _times(rng, (4, 3)), _times(rng, (4, 2))
    kw = dict(a_plus=1.0, a_base=0.5, sigma_ms=2.0, t_sentinel_ms=30.0)
    ax, den = rng.uniform(0, 1, (3, 1)), rng.uniform(0, 1, (1, 2))
    np.testing.assert_allclose(ssdp_update(pre, post, delays_ms=ax, **kw),
                               ssdp_update(pre, post, delays_ms=np.broadcast_to(ax, (3, 2)), **kw), rtol=1e-14)
    np.testing.assert_allclose(ssdp_update(pre, post, delays_ms=den, **kw),
                               ssdp_update(pre, post, delays_ms=np.broadcast_to(den, (3, 2)), **kw), rtol=1e-14)


@pytest.mark.parametrize("variant", VARIANTS)
def test_synchronous_pair_at_zero_lag_gets_exactly_a_plus(variant):
    dw = ssdp_update(np.array([[3.0]]), np.array([[3.0]]), a_plus=0.01, a_base=0.004, sigma_ms=1.0, variant=variant,
                     t_sentinel_ms=50.0)
    assert dw[0, 0] == 0.01


def test_symmetric_in_the_sign_of_the_time_difference():
    rng = np.random.default_rng(3)
    pre = rng.uniform(2, 8, (6, 5))
    lag = rng.uniform(0, 3, (6, 1))
    kw = dict(a_plus=0.2, a_base=0.05, sigma_ms=1.25, t_sentinel_ms=50.0)
    # post unit 0 fires lag after pre unit 0, post unit 1 the same lag before it: the same update
    late = np.hstack([pre[:, :1] + lag])
    early = np.hstack([pre[:, :1] - lag])
    a = ssdp_update(pre[:, :1], late, **kw)
    b = ssdp_update(pre[:, :1], early, **kw)
    np.testing.assert_allclose(a, b, rtol=1e-14)
    assert 0 < a[0, 0] < 0.2
    # the causal variant is not symmetric: only the post-after-pre pairing is potentiated
    assert ssdp_update(pre[:, :1], late, variant="causal", **kw)[0, 0] == pytest.approx(a[0, 0], rel=1e-14)
    assert ssdp_update(pre[:, :1], early, variant="causal", **kw)[0, 0] == 0.0


def test_co_silent_pairs_are_depressed_by_exactly_a_base_in_faithful_only():
    pre = np.array([[INF, INF], [INF, INF]])
    post = np.array([[INF], [INF]])
    kw = dict(a_plus=0.3, a_base=0.07, sigma_ms=1.0, t_sentinel_ms=50.0)
    np.testing.assert_array_equal(ssdp_update(pre, post, **kw), -0.07)
    np.testing.assert_array_equal(ssdp_update(pre, post, variant="no_silent", **kw), 0.0)
    # one silent partner: depressed by A_base G with the stand-in time; no_silent leaves it alone
    dw = ssdp_update(np.array([[49.0]]), np.array([[INF]]), **kw)
    assert dw[0, 0] == pytest.approx(-0.07 * math.exp(-0.5))
    assert ssdp_update(np.array([[49.0]]), np.array([[INF]]), variant="no_silent", **kw)[0, 0] == 0.0


def test_dormant_synapses_stay_zero_and_the_update_is_clipped():
    rng = np.random.default_rng(4)
    pre, post = rng.uniform(0, 1, (3, 4)), rng.uniform(0, 1, (3, 2))
    mask = np.array([[1, 0], [0, 1], [0, 0], [1, 1]], float)
    W = rng.normal(size=(4, 2)) * mask
    dw = ssdp_update(pre, post, a_plus=5.0, a_base=1.0, sigma_ms=10.0, t_sentinel_ms=50.0, mask=mask)
    assert np.all((W + dw)[mask == 0] == 0)
    assert np.all(np.abs(dw) <= 1.0) and np.any(dw == 1.0)  # clip_[-1, 1]


def test_sign_aware_strengthens_inhibitory_magnitudes():
    pre, post = np.array([[1.0, 1.0, 1.0]]), np.array([[1.2]])
    kw = dict(a_plus=0.1, a_base=0.0, sigma_ms=1.0, t_sentinel_ms=50.0)
    signed = ssdp_update(pre, post, signs=np.array([1, -1, 0]), **kw)
    aware = ssdp_update(pre, post, variant="sign_aware", signs=np.array([1, -1, 0]), **kw)
    np.testing.assert_array_equal(signed[:, 0], [signed[0, 0]] * 3)
    np.testing.assert_array_equal(aware[:, 0], [signed[0, 0], -signed[0, 0], signed[0, 0]])


def test_bad_arguments():
    t = np.zeros((2, 3))
    ok = dict(a_plus=0.1, a_base=0.0, sigma_ms=1.0, t_sentinel_ms=50.0)
    with pytest.raises(ValueError, match="variant"):
        ssdp_update(t, t, **dict(ok, variant="da_gated"))
    with pytest.raises(ValueError, match="t_sentinel_ms"):
        ssdp_update(t, t, **dict(ok, t_sentinel_ms=None))
    ssdp_update(t, t, **dict(ok, t_sentinel_ms=None, variant="no_silent"))  # no stand-in needed
    with pytest.raises(ValueError, match="sigma_ms"):
        ssdp_update(t, t, **dict(ok, sigma_ms=0.0))
    with pytest.raises(ValueError, match="a_plus"):
        ssdp_update(t, t, **dict(ok, a_plus=-1.0))
    with pytest.raises(ValueError, match="t_pre, t_post"):
        ssdp_update(t, np.zeros((3, 3)), **ok)
    with pytest.raises(ValueError, match="mask"):
        ssdp_update(t, t, mask=np.ones((2, 2)), **ok)


def test_schedule():
    assert cosine_factor(10, 10, 100) == 1.0 and cosine_factor(100, 10, 100) == 0.5
    c = [cosine_factor(e, 10, 100) for e in range(10, 101)]
    assert all(a > b for a, b in zip(c, c[1:]))
    assert start_epoch(None, 100) == 10 and start_epoch(None, 3) == 1 and start_epoch(0, 100) == 0
    assert ssdp_amplitudes(3e-3, 1 / 3, 2.0, 10, 10, 100) == (6e-3, 2e-3)
    assert [cosine_factor(e, 10, 100) for e in (100, 101, 150, 190)] == [0.5] * 4  # held after the end, not periodic


def test_cost_on_an_mnist_sized_last_layer_is_small():
    """Spec test 7: 400 x 10, batch 50 (O(B n_pre n_post) = 200,000 pairs) in milliseconds, not seconds."""
    rng = np.random.default_rng(5)
    pre, post = torch.tensor(_times(rng, (50, 400))), torch.tensor(_times(rng, (50, 10)))
    ssdp_update(pre, post, a_plus=1e-3, a_base=3e-4, sigma_ms=1.25, t_sentinel_ms=50.0)
    t0 = time.perf_counter()
    for _ in range(5):
        ssdp_update(pre, post, a_plus=1e-3, a_base=3e-4, sigma_ms=1.25, t_sentinel_ms=50.0)
    assert (time.perf_counter() - t0) / 5 < 0.25


# ----------------------------------------------------------------------------------- config and trainer
YY = dict(dataset="yinyang", train_size=300, test_size=100, hidden=[[30, 0]], epochs=3, batch_size=30, lr=0.01,
          weight_init_mean=[2.76, 7.36], weight_init_std=[1.47, 11.77], val_fraction=0.1, seed=1)


def _w(net):
    return [W.detach().clone() for W in net.weights]


def _hist(h):
    return [{k: v for k, v in m.__dict__.items() if k not in ("seconds", "ssdp")} for m in h]


def test_config_fields_validate_and_round_trip():
    c = TrainConfig(**YY, ssdp_variant="causal", ssdp_layers=[-1, 0], ssdp_start_epoch=2)
    assert c.ssdp_layers == (-1, 0) and TrainConfig.from_yaml(c.to_yaml()) == c
    assert TrainConfig().ssdp_variant is None and TrainConfig().ssdp_layers == (-1,)
    for bad in (dict(ssdp_variant="da_gated"), dict(ssdp_layers=[2]), dict(ssdp_layers=[]), dict(ssdp_layers=[True]),
                dict(ssdp_a_plus=-1.0), dict(ssdp_sigma_tau=0.0), dict(ssdp_start_epoch=-1), dict(ssdp_end_epoch=0)):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            TrainConfig(**YY, **bad)


def test_zero_amplitudes_reproduce_the_baseline_bit_for_bit():
    base = Trainer(TrainConfig(**YY), progress=False).fit()
    zero = Trainer(TrainConfig(**YY, ssdp_variant="faithful", ssdp_a_plus=0.0, ssdp_start_epoch=0), progress=False).fit()
    assert all(torch.equal(a, b) for a, b in zip(_w(base.network), _w(zero.network)))
    assert _hist(base.history) == _hist(zero.history)
    assert zero.history[-1].ssdp["1"]["a_plus"] == 0.0
    on = Trainer(TrainConfig(**YY, ssdp_variant="faithful", ssdp_start_epoch=0), progress=False).fit()
    assert not torch.equal(_w(on.network)[1], _w(base.network)[1])  # the test can fail: SSDP does change weights
    assert base.history[-1].ssdp is None


def test_only_the_chosen_layers_change_before_dale_and_after_the_step(monkeypatch):
    cfg = TrainConfig(**dict(YY, weight_bump_value=0.0), ssdp_variant="faithful", ssdp_start_epoch=0, ssdp_a_plus=0.05)
    tr = Trainer(cfg, progress=False)
    sd0 = float(tr.network.weights[1].detach().std())
    tr.ssdp.begin_epoch(0, tr.network.weights)
    t_in, y = tr._t["train"][0][:30], tr._t["train"][1][:30]
    seen = {}
    real = tr.optimizer.step

    def step(*a, **k):
        out = real(*a, **k)
        seen["after_step"] = _w(tr.network)
        return out

    monkeypatch.setattr(tr.optimizer, "step", step)
    outs = [o.detach() for o in tr.network(t_in)]
    tr.train_step(t_in, y)
    after = _w(tr.network)
    assert torch.equal(after[0], seen["after_step"][0])  # layer 0 not targeted
    from synsem_ephys.train.ssdp import ssdp_update as upd

    ap, ab = tr.ssdp.amplitudes[1]
    dw = upd(outs[0], outs[1], a_plus=ap, a_base=ab, sigma_ms=0.25 * 5.0, t_sentinel_ms=50.0)
    assert torch.equal(after[1], seen["after_step"][1] + dw)
    assert tr.ssdp.ref_std == {1: sd0} and (ap, ab) == (0.05 * sd0, (1 / 3) * (0.05 * sd0))


@pytest.mark.parametrize("variant", ["faithful", "sign_aware"])
def test_dale_holds_after_a_one_epoch_smoke_run(variant):
    cfg = TrainConfig(dataset="yinyang", train_size=200, test_size=50, hidden=[[20, 8]], dale=True, epochs=1,
                      batch_size=25, lr=0.01, val_fraction=0.0, ssdp_variant=variant, ssdp_start_epoch=0,
                      ssdp_a_plus=0.05, ssdp_layers=[-1, -2])
    res = Trainer(cfg, progress=False).fit()
    assert res.network.dale_violations() == 0
    assert res.history[0].ssdp["1"]["dw_rel"] > 0 and res.history[0].ssdp["0"]["dw_rel"] > 0


def test_exact_resume_keeps_the_reference_sd(tmp_path):
    cfg = TrainConfig(**YY, ssdp_variant="faithful", ssdp_start_epoch=1, ssdp_a_plus=0.02)
    full = train_from_config(cfg, tmp_path / "full", progress=False)
    tr = Trainer(cfg, tmp_path / "split", progress=False)
    (tmp_path / "split").mkdir()
    for _ in range(2):
        tr.train_epoch()
    tr.save_checkpoint()
    ref = dict(tr.ssdp.ref_std)
    from synsem_ephys.train.checkpoint import load_checkpoint

    assert load_checkpoint(tmp_path / "split" / CHECKPOINT_NAME).state["ssdp"] == {"ref_std": {"1": ref[1]},
                                                                                 "start_epoch": 1, "end_epoch": 3}
    assert float(tr.network.weights[1].detach().std()) != ref[1]  # recomputing it at the resume would differ
    resumed = train_from_config(cfg, tmp_path / "split", resume=True, progress=False)
    assert resumed.resumed_from_epoch == 2
    assert all(torch.equal(a, b) for a, b in zip(_w(full.network), _w(resumed.network)))
    assert [m.ssdp for m in full.history] == [m.ssdp for m in resumed.history]
    assert full.history[0].ssdp is None and full.history[1].ssdp["1"]["a_plus"] > 0


def test_dormant_synapses_of_a_sparse_network_get_no_update():
    cfg = TrainConfig(dataset="yinyang", train_size=200, test_size=50, hidden=[[20, 8]], dale=True, epochs=1,
                      batch_size=25, lr=0.01, val_fraction=0.0, sparsity=0.5, rewire_regrow="rigl_signed",
                      ssdp_variant="faithful", ssdp_start_epoch=0, ssdp_a_plus=0.05, ssdp_layers=[-1, -2])
    tr = Trainer(cfg, progress=False)
    masks = tr.rewiring.masks
    tr.ssdp.begin_epoch(0, tr.network.weights)
    t_in = tr._t["train"][0][:25]
    before = _w(tr.network)
    tr.ssdp.apply_(tr.network, t_in, [o.detach() for o in tr.network(t_in)], masks=masks)
    for l in (0, 1):
        changed = tr.network.weights[l].detach() != before[l]
        assert changed.any() and not changed[~masks[l].bool()].any()
    res = tr.fit()
    assert res.network.dale_violations() == 0
    assert tr.rewiring.violations(res.network.weights) == {"active_count": 0, "dormant_nonzero": 0, "sign": 0}


def test_resume_with_raised_epochs_keeps_the_schedule_it_began_with(tmp_path):
    """N epochs + resume to M > N = M epochs uninterrupted with ssdp_end_epoch = N (and the start N resolved)."""
    cfg = dict(YY, epochs=2, ssdp_variant="faithful", ssdp_a_plus=0.02)  # start max(1, round(0.2)) = 1, end 2
    train_from_config(TrainConfig(**cfg), tmp_path / "split", progress=False)
    resumed = train_from_config(TrainConfig(**dict(cfg, epochs=4)), tmp_path / "split", resume=True, progress=False)
    assert resumed.resumed_from_epoch == 2
    fixed = train_from_config(TrainConfig(**dict(cfg, epochs=4, ssdp_end_epoch=2, ssdp_start_epoch=1)),
                              tmp_path / "fixed", progress=False)
    assert all(torch.equal(a, b) for a, b in zip(_w(fixed.network), _w(resumed.network)))
    assert [m.ssdp for m in fixed.history] == [m.ssdp for m in resumed.history]
    ap = [m.ssdp["1"]["a_plus"] for m in resumed.history[1:]]
    assert ap[0] > ap[1] == ap[2]  # epochs 2, 3 (0-based) after the end hold c = 0.5
    # the test can fail: the schedule re-resolved from the new epochs (end 4) differs
    follow = train_from_config(TrainConfig(**dict(cfg, epochs=4, ssdp_start_epoch=1)), tmp_path / "follow",
                               progress=False)
    assert not torch.equal(_w(follow.network)[1], _w(resumed.network)[1])
    # an explicit end: resuming to the same end is exact without any stored value
    end = dict(cfg, ssdp_end_epoch=4)
    train_from_config(TrainConfig(**end), tmp_path / "e2", progress=False)
    res_e = train_from_config(TrainConfig(**dict(end, epochs=4)), tmp_path / "e2", resume=True, progress=False)
    full_e = train_from_config(TrainConfig(**dict(end, epochs=4)), tmp_path / "e4", progress=False)
    assert all(torch.equal(a, b) for a, b in zip(_w(full_e.network), _w(res_e.network)))


def test_checkpoints_without_the_stored_schedule_resolve_it_from_the_config():
    from synsem_ephys.train.ssdp import SSDP

    s = SSDP(TrainConfig(**dict(YY, epochs=50), ssdp_variant="faithful"), 2)
    assert (s.start, s.end) == (5, 50)
    s.load_state({"ref_std": {"1": 0.5}})  # written before start / end were stored
    assert (s.start, s.end, s.ref_std) == (5, 50, {1: 0.5})
    s.load_state({"ref_std": None, "start_epoch": 2, "end_epoch": 20})
    assert (s.start, s.end) == (2, 20)


def test_ssdp_runs_after_the_rewiring_and_before_dale(monkeypatch):
    """Spec order: optimiser step -> DEEP R / RigL -> W += dW (on the masks after this step's regrowth) -> Dale."""
    cfg = TrainConfig(dataset="yinyang", train_size=200, test_size=50, hidden=[[20, 8]], dale=True, epochs=1,
                      batch_size=25, lr=0.01, val_fraction=0.0, sparsity=0.5, rewire_regrow="random",
                      ssdp_variant="faithful", ssdp_start_epoch=0, ssdp_a_plus=0.05, ssdp_layers=[-1, -2])
    tr = Trainer(cfg, progress=False)
    tr.ssdp.begin_epoch(0, tr.network.weights)
    calls = []
    for obj, name in ((tr.rewiring, "step_"), (tr.ssdp, "apply_"), (tr.network, "enforce_dale_")):
        real = getattr(obj, name)

        def spy(*a, _real=real, _name=name, **k):
            calls.append((_name, tr.rewiring.step))
            return _real(*a, **k)

        monkeypatch.setattr(obj, name, spy)
    t_in, y = tr._t["train"][0][:25], tr._t["train"][1][:25]
    tr.train_step(t_in, y)
    assert [c for c in calls if c[0] != "enforce_dale_" or c[1] == 1][-3:] == [
        ("step_", 0), ("apply_", 1), ("enforce_dale_", 1)]  # SSDP sees the rewiring's step done
    monkeypatch.undo()
    res = tr.fit()
    assert res.network.dale_violations() == 0
    assert tr.rewiring.violations(res.network.weights) == {"active_count": 0, "dormant_nonzero": 0, "sign": 0}


def test_sign_aware_without_dale_is_the_faithful_rule():
    """Rows without a Dale sign count as +1: on Yin-Yang (dale false) sign_aware = faithful bit for bit."""
    a = Trainer(TrainConfig(**dict(YY, epochs=2), ssdp_variant="faithful", ssdp_start_epoch=0), progress=False).fit()
    b = Trainer(TrainConfig(**dict(YY, epochs=2), ssdp_variant="sign_aware", ssdp_start_epoch=0), progress=False).fit()
    assert all(torch.equal(x, y) for x, y in zip(_w(a.network), _w(b.network)))
