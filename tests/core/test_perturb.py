"""Test-time input perturbations: jitter, deletion, insertion (seeded; numpy and torch alike)."""

import math

import numpy as np
import pytest

from synsem_ephys.encoding import jitter_times
from synsem_ephys.perturb import KINDS, as_generator, delete, insert, jitter, perturb

TAU = 5.0


def _times(n=400, m=30, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.75, 10.0, (n, m))
    t[rng.random((n, m)) < 0.25] = np.inf
    return t


def test_jitter_is_jitter_times_in_units_of_tau_syn():
    t = _times()
    got = jitter(t, 0.2, tau_syn_ms=TAU, rng=3)
    want = jitter_times(t, 0.2 * TAU, np.random.default_rng(3))
    np.testing.assert_array_equal(got, want)
    assert np.array_equal(np.isinf(got), np.isinf(t)) and got[np.isfinite(got)].min() >= 0
    fin = np.isfinite(t)
    d = got[fin] - t[fin]
    assert abs(d.std() - 1.0) < 0.05  # 0.2 tau_syn = 1 ms (few clipped at 0: the times start at 0.75 ms)
    same = jitter(t, 0.0, tau_syn_ms=TAU, rng=3)
    np.testing.assert_array_equal(same, t)
    assert same is not t


def test_deletion_removes_finite_spikes_with_probability_p():
    t = _times()
    out = delete(t, 0.3, rng=1)
    fin = np.isfinite(t)
    assert not np.isfinite(out[~fin]).any()  # nothing appears
    kept = np.isfinite(out[fin])
    np.testing.assert_array_equal(out[fin][kept], t[fin][kept])  # survivors unchanged
    frac = 1 - kept.mean()
    n = fin.sum()
    assert abs(frac - 0.3) < 4 * math.sqrt(0.3 * 0.7 / n)
    assert np.isinf(delete(t, 1.0, rng=1)).all()
    np.testing.assert_array_equal(delete(t, 0.0, rng=1), t)


def test_insertion_takes_the_earlier_of_the_spike_and_a_uniform_time():
    t = _times()
    out = insert(t, 0.2, tau_syn_ms=TAU, t_late=2.0, rng=2)
    assert np.all(out <= t)
    changed = out != t
    assert np.all(out[changed] >= 0) and np.all(out[changed] <= 2.0 * TAU)
    assert np.isfinite(out[np.isinf(t)]).any()  # silent units switched on
    # which units were hit and their times are the documented draws
    g = np.random.default_rng(2)
    hit = g.random(t.shape) < 0.2
    u = g.uniform(0, 2.0 * TAU, t.shape)
    np.testing.assert_array_equal(out, np.where(hit, np.minimum(t, u), t))
    assert np.isfinite(insert(t, 1.0, tau_syn_ms=TAU, rng=0)).all()
    np.testing.assert_array_equal(insert(t, 0.0, tau_syn_ms=TAU, rng=0), t)


@pytest.mark.parametrize("kind,strength", [("jitter", 0.4), ("deletion", 0.2), ("insertion", 0.1)])
def test_seeded_and_the_same_for_numpy_and_torch(kind, strength):
    torch = pytest.importorskip("torch")
    t = _times()
    a = perturb(t, kind, strength, tau_syn_ms=TAU, rng=7)
    np.testing.assert_array_equal(a, perturb(t, kind, strength, tau_syn_ms=TAU, rng=np.random.default_rng(7)))
    assert not np.array_equal(a, perturb(t, kind, strength, tau_syn_ms=TAU, rng=8))
    assert not np.array_equal(a, t)
    b = perturb(torch.tensor(t), kind, strength, tau_syn_ms=TAU, rng=7)
    assert isinstance(b, torch.Tensor) and b.dtype == torch.float64
    np.testing.assert_array_equal(b.numpy(), a)
    t32 = t.astype(np.float32)
    c = perturb(torch.tensor(t32), kind, strength, tau_syn_ms=TAU, rng=7)
    assert c.dtype == torch.float32
    np.testing.assert_array_equal(c.numpy(), perturb(t32, kind, strength, tau_syn_ms=TAU, rng=7).astype(np.float32))


def test_a_generator_is_used_as_is_and_advances():
    g = np.random.default_rng(0)
    assert as_generator(g) is g
    t = _times()
    first, second = delete(t, 0.5, rng=g), delete(t, 0.5, rng=g)
    assert not np.array_equal(first, second)


def test_bad_arguments():
    t = _times()
    assert set(KINDS) == {"jitter", "deletion", "insertion"}
    with pytest.raises(ValueError, match="kind"):
        perturb(t, "shift", 0.1, tau_syn_ms=TAU, rng=0)
    with pytest.raises(ValueError, match="probability"):
        delete(t, 1.5, rng=0)
    with pytest.raises(ValueError, match="probability"):
        insert(t, -0.1, tau_syn_ms=TAU, rng=0)
    with pytest.raises(ValueError, match="sd"):
        jitter(t, -1.0, tau_syn_ms=TAU, rng=0)
    with pytest.raises(ValueError, match="rng"):
        delete(t, 0.1, rng="seed")
    with pytest.raises(ValueError, match="rng"):
        delete(t, 0.1, rng=-1)
    with pytest.raises(ValueError, match="tau_syn_ms"):
        insert(t, 0.1, tau_syn_ms=0.0, rng=0)
