"""E/I spatio-temporal structure (analysis/ei_structure.py) against direct computations on hand-built cases."""

import math

import numpy as np
import pytest

from synsem_ephys.analysis.ei_structure import (EI_DEFINITIONS, arrival_order, ei_statistics,
                                                receptive_field_centres, synapse_types, weight_delay_maps,
                                                weighted_w1_ks)


def moran_chain_direct(x):
    """Moran's I with binary chain weights, written out from the definition."""
    x = np.asarray(x, float)
    n = len(x)
    z = x - x.mean()
    wmat = np.zeros((n, n))
    for r in range(n - 1):
        wmat[r, r + 1] = wmat[r + 1, r] = 1.0
    return n / wmat.sum() * (z @ wmat @ z) / (z @ z)


def clustered_block(n_units=8, n_syn=20, seed=0, shift_ms=2.0):
    """Free input rows: per unit E synapses on rows 0-9 (delays ~1 ms), I on rows 10-19 (delays ~1 + shift ms)."""
    rng = np.random.default_rng(seed)
    w = np.abs(rng.normal(1.0, 0.2, (n_syn, n_units)))
    w[n_syn // 2:] *= -1
    d = np.where(np.arange(n_syn)[:, None] < n_syn // 2, 1.0, 1.0 + shift_ms) + rng.uniform(-0.1, 0.1, w.shape)
    return w, d


def test_synapse_types_follow_presynaptic_signs_and_free_rows_their_weight():
    w = np.array([[0.5, -0.2, 0.0], [0.3, 0.0, 0.1], [-0.4, 0.2, 0.0]])
    t = synapse_types(w, [0, 1, -1])
    assert t.tolist() == [[1, -1, 0], [1, 0, 1], [-1, -1, 0]]
    assert synapse_types(w).tolist() == [[1, -1, 0], [1, 0, 1], [-1, 1, 0]]


def test_per_unit_statistics_equal_direct_loops():
    rng = np.random.default_rng(1)
    w = rng.normal(0, 1, (12, 5)) * (rng.random((12, 5)) < 0.7)
    d = rng.uniform(0, 5, (12, 5))
    space = rng.uniform(0, 10, 12)
    res = ei_statistics(w, d, space=space, n_perm=0)
    for j in range(5):
        act = w[:, j] != 0
        e, i = act & (w[:, j] > 0), act & (w[:, j] < 0)
        a = np.abs(w[:, j])
        mu_e, mu_i = (a[e] * d[e, j]).sum() / a[e].sum(), (a[i] * d[i, j]).sum() / a[i].sum()
        assert res.delta_delay_ms[j] == pytest.approx(mu_i - mu_e, rel=1e-12)
        mu = (a[act] * d[act, j]).sum() / a[act].sum()
        sd = math.sqrt((a[act] * (d[act, j] - mu) ** 2).sum() / a[act].sum())
        assert res.delta_delay_sd[j] == pytest.approx((mu_i - mu_e) / sd, rel=1e-12)
        cs = ((a[i] * space[i]).sum() / a[i].sum()) - ((a[e] * space[e]).sum() / a[e].sum())
        assert res.delta_space[j] == pytest.approx(cs, rel=1e-12)
        types = np.sign(w[act, j])
        assert res.moran_space[j] == pytest.approx(moran_chain_direct(types[np.argsort(space[act], kind="stable")]))
        assert res.moran_delay[j] == pytest.approx(moran_chain_direct(types[np.argsort(d[act, j], kind="stable")]))
        assert res.n_exc[j] == e.sum() and res.n_inh[j] == i.sum()
    assert res.summary["delta_delay_ms"] == pytest.approx(np.nanmean(res.delta_delay_ms))
    assert res.summary["frac_inh_later"] == pytest.approx(np.mean(res.delta_delay_ms > 0))
    e, i = w > 0, w < 0
    w1, ks = weighted_w1_ks(d[e], np.abs(w[e]), d[i], np.abs(w[i]))
    assert res.summary["delay_w1_ms"] == w1 and res.summary["delay_ks"] == ks
    assert set(res.summary) <= set(EI_DEFINITIONS)


def test_weighted_w1_and_ks_against_scipy_and_a_hand_case():
    from scipy import stats

    rng = np.random.default_rng(2)
    x, y = rng.normal(0, 1, 30), rng.normal(0.5, 2, 20)
    wx, wy = rng.uniform(0.1, 1, 30), rng.uniform(0.1, 1, 20)
    w1, ks = weighted_w1_ks(x, wx, y, wy)
    assert w1 == pytest.approx(stats.wasserstein_distance(x, y, wx, wy), rel=1e-12)
    assert weighted_w1_ks(x, np.ones(30), y, np.ones(20))[1] == pytest.approx(stats.ks_2samp(x, y).statistic)
    assert weighted_w1_ks([0.0], [1.0], [2.0], [1.0]) == (2.0, 1.0)
    assert all(math.isnan(v) for v in weighted_w1_ks([], [], [1.0], [1.0]))


def test_clustered_block_gives_high_moran_and_a_large_z_random_signs_do_not():
    w, d = clustered_block()
    res = ei_statistics(w, d, n_perm=300, seed=0)
    assert res.summary["moran_space"] == pytest.approx(17 / 19)  # n = 20: 18 equal pairs, 1 unequal
    t = res.tests["moran_space/sign_shuffle"]
    assert t.z > 5 and t.p == pytest.approx(1 / 301) and t.alternative == "greater"
    assert res.tests["moran_delay/delay_shuffle"].z > 5  # E early, I late: grouped in time
    rng = np.random.default_rng(5)
    w_rand = np.abs(w) * rng.choice([-1.0, 1.0], size=w.shape)
    rand = ei_statistics(w_rand, rng.uniform(0, 3, w.shape), n_perm=300, seed=1)
    t = rand.tests["moran_space/sign_shuffle"]
    assert abs(t.z) < 3 and t.p > 0.01
    assert abs(rand.summary["moran_space"] - t.null_mean) < 0.15


def test_shifted_inhibition_gives_the_delay_offset():
    w, _ = clustered_block(n_units=4)
    d = np.where(np.arange(20)[:, None] < 10, 1.0, 3.5) * np.ones_like(w)  # I exactly 2.5 ms later
    res = ei_statistics(w, d, n_perm=200, seed=0)
    assert np.allclose(res.delta_delay_ms, 2.5) and res.summary["frac_inh_later"] == 1.0
    assert res.delay_mean_inh_ms - res.delay_mean_exc_ms == pytest.approx(2.5)
    assert res.summary["delay_w1_ms"] == pytest.approx(2.5) and res.summary["delay_ks"] == pytest.approx(1.0)
    t = res.tests["delta_delay_ms/delay_shuffle"]
    assert t.p < 0.01 and t.alternative == "two-sided" and t.z > 5
    assert "delta_delay_ms/sign_shuffle" in res.tests
    # the same network "at initialisation" with equal delays: no offset there
    res2 = ei_statistics(w, d, n_perm=0, init_weights=w, init_delays=np.ones_like(w))
    assert res2.init_summary["delta_delay_ms"] == 0.0 and res2.tests == {}


def test_dale_preserving_sign_shuffle_and_delay_shuffle_keep_their_invariants():
    from synsem_ephys.analysis import ei_structure as mod

    rng = np.random.default_rng(3)
    s = np.array([1, 1, 1, -1, -1, 0, 0])
    w = np.abs(rng.normal(1, 0.3, (7, 4))) * (rng.random((7, 4)) < 0.8)
    w[:5] *= s[:5, None]
    w[5:] *= rng.choice([-1, 1], (2, 4))
    types = synapse_types(w, s)
    for _ in range(20):
        t2 = mod._sign_shuffle(types, s.astype(float), rng)
        assert np.array_equal(t2 != 0, types != 0)  # same active synapses
        assert all(np.unique(t2[r][t2[r] != 0]).size <= 1 for r in range(5))  # one label per constrained row
        assert np.array_equal((t2[5:] > 0).sum(axis=0), (types[5:] > 0).sum(axis=0))  # free counts per unit
        d = rng.uniform(0, 5, w.shape)
        d2 = mod._shuffle_within_columns(d, types != 0, rng)
        for j in range(4):
            act = types[:, j] != 0
            assert sorted(d2[act, j]) == sorted(d[act, j]) and np.array_equal(d2[~act, j], d[~act, j])
    # the label permutation keeps the number of E and I rows
    labels = []
    for _ in range(50):
        t2 = mod._sign_shuffle(np.where(np.ones((5, 3)), s[:5, None], 0).astype(np.int8), s[:5].astype(float), rng)
        labels.append(tuple(t2[:, 0]))
        assert sorted(t2[:, 0]) == sorted(s[:5]) and np.all(t2 == t2[:, :1])
    assert len(set(labels)) > 1


def test_no_delays_gives_space_statistics_only():
    w, _ = clustered_block(n_units=3)
    res = ei_statistics(w, None, n_perm=20)
    assert set(res.summary) == {"delta_space", "moran_space"}
    assert all(k.endswith("/sign_shuffle") for k in res.tests)
    assert np.all(np.isnan(res.moran_delay))
    assert res.summary["delta_space"] == pytest.approx(10.0, abs=1.0)  # I block 10 rows after the E block


def test_weight_delay_maps_equal_an_explicit_sum():
    rng = np.random.default_rng(4)
    w = rng.normal(0, 1, (6, 3))
    d = rng.uniform(0, 4, (6, 1))  # axonal: broadcast
    maps, ce, de = weight_delay_maps(w, d, delay_bins=4, delay_range_ms=(0.0, 4.0))
    assert maps.shape == (3, 6, 4) and len(ce) == 7 and np.allclose(de, [0, 1, 2, 3, 4])
    want = np.zeros((3, 6, 4))
    for j in range(3):
        for i in range(6):
            want[j, i, min(int(d[i, 0]), 3)] += w[i, j]
    assert np.allclose(maps, want)
    space = np.array([0.1, 0.2, 0.6, 0.7, 0.8, 0.9])
    m2, ce2, _ = weight_delay_maps(w, d, space=space, space_bins=[0, 0.5, 1.0], delay_bins=2)
    assert m2.shape == (3, 2, 2) and np.allclose(m2.sum(axis=(1, 2)), w.sum(axis=0))


def test_receptive_field_centres():
    w0 = np.array([[1.0, 0.0], [1.0, 2.0], [0.0, 2.0]])  # 3 inputs -> 2 units
    w1 = np.array([[1.0], [-3.0]])
    c = receptive_field_centres([w0, w1])
    assert np.allclose(c[0], [0, 1, 2]) and np.allclose(c[1], [0.5, 1.5])
    assert len(c) == 2


def test_arrival_order_hand_built():
    # one unit: E inputs 0, 1 (weights 1, 3), I input 2 (weight -2), one more I input arriving after the spike
    w = np.array([[1.0], [3.0], [-2.0], [-1.0]])
    d = np.array([[0.5], [1.0], [1.5], [0.0]])
    pre = np.array([[1.0, 1.0, 2.0, 9.0], [1.0, np.inf, 2.0, 0.0]])
    post = np.array([[5.0], [4.0]])
    res = arrival_order(pre, post, w, d, signs=[1, 1, -1, -1], n_perm=0)
    # trial 0: E arrivals 1.5 (w 1), 2.0 (w 3) -> 1.875; I arrival 3.5 (the 9.0 + 0 one is after the spike)
    assert res.mean_exc_ms[0, 0] == pytest.approx(1.875) and res.mean_inh_ms[0, 0] == pytest.approx(3.5)
    # trial 1: E 1.5 only (input 1 silent); I 3.5 (w 2) and 0.0 (w 1) -> 7/3
    assert res.mean_exc_ms[1, 0] == pytest.approx(1.5) and res.mean_inh_ms[1, 0] == pytest.approx(7 / 3)
    assert res.summary["delta_arrival_ms"] == pytest.approx(((3.5 - 1.875) + (7 / 3 - 1.5)) / 2)
    assert res.summary["frac_inh_later_arrival"] == 1.0 and res.summary["n_pairs"] == 2
    silent = arrival_order(pre, np.full((2, 1), np.inf), w, d, n_perm=0)
    assert silent.summary["n_pairs"] == 2  # an unspiking unit: every arrival counts (T = inf)
    with pytest.raises(ValueError, match="post_times_ms"):
        arrival_order(pre, post[:1], w, d)


def test_arrival_order_nulls_on_a_late_inhibition_network():
    rng = np.random.default_rng(6)
    w, d = clustered_block(n_units=6, seed=1, shift_ms=3.0)
    pre = rng.uniform(0, 1, (10, 20))
    post = np.full((10, 6), 20.0)
    res = arrival_order(pre, post, w, d, n_perm=100, seed=0)
    t = res.tests["delta_arrival_ms/delay_shuffle"]
    assert res.summary["delta_arrival_ms"] > 2.5 and t.p < 0.02 and t.z > 5
    assert "delta_arrival_ms/sign_shuffle" in res.tests


def test_errors():
    w = np.ones((3, 2))
    with pytest.raises(ValueError, match="delays"):
        ei_statistics(w, np.ones((2, 2)))
    with pytest.raises(ValueError, match="signs"):
        ei_statistics(w, None, signs=[1, 1])
    with pytest.raises(ValueError, match="nulls"):
        ei_statistics(w, None, nulls=("weights",))
    with pytest.raises(ValueError, match="weights"):
        ei_statistics(np.array([[np.nan]]))
    with pytest.raises(ValueError, match="init_weights"):
        ei_statistics(w, None, init_weights=np.ones((2, 2)))


def test_module_is_torch_free_and_names_are_lazy():
    import subprocess
    import sys

    code = ("import sys; import synsem_ephys.analysis as a; a.ei_statistics; a.arrival_order; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_delay_distributions_by_hand_and_record_delays_errors():
    from synsem_ephys.analysis.ei_structure import delay_distributions, record_delays
    from synsem_ephys.spec import NetworkSpec

    w = np.array([[0.5, 0.0, 1.0], [-1.0, -2.0, 0.0]])  # free rows: types from the weights' signs
    d = np.array([[1.0, 9.0, 3.0], [2.0, 4.0, 9.0]])
    dist = delay_distributions([d, None], [np.zeros(2), np.ones(3)], [w, np.ones((3, 1))], bins=4)
    assert dist.matrices == (0,)
    rows = {r["type"]: r for r in dist.rows}
    assert rows["E"]["n"] == 2 and rows["E"]["mean_ms"] == 2.0 and rows["I"]["median_ms"] == 3.0
    assert np.array_equal(dist.edges_ms[0], np.linspace(0, 4.0, 5)) and dist.counts[0]["E"].tolist() == [0, 1, 0, 1]
    # without weights: every synapse, rows without a sign 'free'
    nw = delay_distributions([d], [np.array([1, 0])], bins=3)
    assert {r["type"]: r["n"] for r in nw.rows} == {"E": 3, "free": 3}
    with pytest.raises(ValueError, match="bins"):
        delay_distributions([d], bins=0)
    with pytest.raises(ValueError, match="signs"):
        delay_distributions([d], [np.zeros(2), np.zeros(2)])
    spec = NetworkSpec(2, hidden=((3, 0),), n_outputs=1, delays=["axonal", "none"], delay_max_ms=5.0)
    meta = {"spec": spec.to_json(), "delays_ms": [[[1.0], [2.0]], None]}
    got = record_delays(meta)
    assert got[1] is None and np.array_equal(got[0], [[1.0] * 3, [2.0] * 3])
    assert record_delays({"spec": spec.to_json()}) is None
    with pytest.raises(ValueError, match="delays_ms"):
        record_delays({"spec": spec.to_json(), "delays_ms": [[[1.0], [2.0]]]})
    with pytest.raises(ValueError, match=r"delays_ms'\]\[0\]"):
        record_delays({"spec": spec.to_json(), "delays_ms": [[[1.0, 2.0]], None]})
    with pytest.raises(ValueError, match="spec"):
        record_delays({"delays_ms": [None, None]})
