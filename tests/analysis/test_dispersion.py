"""Dispersion of spike times and pulse packets: known sigma of synthetic packets, numpy references,
invariances (hypothesis), the packet selections, errors, and the Elephant complexity cross-check."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synsem_ephys.analysis.dispersion import dispersion, pulse_packets, spike_time_stats, synthetic_packets
from synsem_ephys.record import SpikeRecord, TrialTable, UnitTable


def _layered_record(layers, n_trials, decision_ms=None, duration_ms=100.0):
    """``layers``: list of (times (n_trials, n_units) with inf = silent, cell type) -> SpikeRecord, one layer each."""
    names, pops, lay, ct, idx, t, u, r = [], [], [], [], [], [], [], []
    off = 0
    for k, (m, c) in enumerate(layers):
        n = m.shape[1]
        names += [f"L{k}_{i}" for i in range(n)]
        pops += [f"L{k}"] * n
        lay += [k] * n
        ct += [c] * n
        idx += list(range(n))
        rr, cc = np.nonzero(np.isfinite(m))
        t.append(m[rr, cc])
        u.append(cc + off)
        r.append(rr)
        off += n
    units = UnitTable(names, pops, lay, ct, idx, np.arange(off))
    trials = TrialTable(np.zeros(n_trials, int), decision_time_ms=decision_ms)
    return SpikeRecord(np.concatenate(t), np.concatenate(u), np.concatenate(r), units, trials, duration_ms)


def test_stats_match_numpy_per_key():
    rng = np.random.default_rng(3)
    t = rng.normal(20, 4, 500)
    k = rng.integers(0, 13, 500)
    k[k == 5] = 6  # key 5 empty
    k[np.flatnonzero(k == 7)[1:]] = 8  # key 7 holds one spike
    c, m, s, q1, q2, q3 = spike_time_stats(t, k, 13)
    for key in range(13):
        v = t[k == key]
        assert c[key] == v.size
        if v.size == 0:
            assert np.isnan(m[key]) and np.isnan(q2[key]) and np.isnan(s[key])
            continue
        np.testing.assert_allclose([m[key], q1[key], q2[key], q3[key]],
                                   [v.mean(), *np.quantile(v, [0.25, 0.5, 0.75])], rtol=1e-12)
        if v.size >= 2:
            np.testing.assert_allclose(s[key], v.std(ddof=1), rtol=1e-12)
        else:
            assert np.isnan(s[key])


@pytest.mark.parametrize("sigma", [0.5, 2.0, 5.0])
def test_synthetic_packets_recover_sigma(sigma):
    a, n_trials = 300, 40
    t, r = synthetic_packets(a, sigma, n_trials, t0_ms=40.0, seed=1)
    m = t.reshape(n_trials, a)
    rec = _layered_record([(m, "E")], n_trials)
    pp = pulse_packets(dispersion(rec, packet=None), "all")
    assert pp.a_mean[0] == a and pp.a_sd[0] == 0 and pp.a_fraction[0] == 1.0
    # SD of 300 normal samples: relative standard error ~ 1/sqrt(2 * 299) = 4 %
    assert abs(pp.sigma_median_ms[0] / sigma - 1) < 0.06
    # IQR of a normal distribution = 2 * 0.6745 sigma
    assert abs(pp.iqr_median_ms[0] / (1.349 * sigma) - 1) < 0.12
    assert abs(pp.t_median_ms[0] - 40.0) < 0.2 * sigma + 0.05


def test_packet_before_decision_and_window():
    """Layer 1 fires a sharp packet at 10 ms and stragglers at 60-90 ms; decisions at 30 ms."""
    n_trials, rng = 20, np.random.default_rng(0)
    sharp = 10 + 0.3 * rng.standard_normal((n_trials, 50))
    late = rng.uniform(60, 90, (n_trials, 10))
    inputs = rng.uniform(0, 8, (n_trials, 30))
    dec = np.full(n_trials, 30.0)
    dec[-1] = np.inf  # one trial without a decision: no packet
    rec = _layered_record([(inputs, "input"), (np.hstack([sharp, late]), "E")], n_trials, decision_ms=dec)
    d = dispersion(rec, packet="decision")
    assert d.packet_kind == "decision" and d.group_names == ("L0", "L1")
    assert np.all(d.packet.count[1, :-1] == 50) and d.packet.count[1, -1] == 0
    np.testing.assert_allclose(d.packet.sd_ms[1, :-1], sharp[:-1].std(axis=1, ddof=1))
    assert np.all(d.all.sd_ms[1] > 10 * d.packet.sd_ms[1, 0])  # stragglers inflate the spread of all spikes
    pp = pulse_packets(d)
    assert pp.a_mean[1] == 50 and pp.n_trials_used[1] == n_trials - 1
    w = dispersion(rec, packet=(55.0, 95.0))
    assert w.packet_kind == "window" and np.all(w.packet.count[1] == 10) and np.all(w.packet.count[0] == 0)
    assert np.isnan(pulse_packets(w).sigma_median_ms[0])


@settings(max_examples=25, deadline=None)
@given(shift=st.floats(0.0, 50.0), scale=st.floats(0.2, 3.0), seed=st.integers(0, 10**6))
def test_shift_and_scale(shift, scale, seed):
    t, r = synthetic_packets(20, 2.0, 6, t0_ms=10.0, seed=seed)
    m = t.reshape(6, 20)
    base = dispersion(_layered_record([(m, "E")], 6, duration_ms=400.0), packet=None).all
    moved = dispersion(_layered_record([(m * scale + shift, "E")], 6, duration_ms=400.0), packet=None).all
    np.testing.assert_allclose(moved.sd_ms, scale * base.sd_ms, rtol=1e-9)
    np.testing.assert_allclose(moved.iqr_ms, scale * base.iqr_ms, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(moved.median_ms, scale * base.median_ms + shift, rtol=1e-9)


def test_errors_name_the_argument():
    t, r = synthetic_packets(5, 1.0, 3)
    rec = _layered_record([(t.reshape(3, 5), "E")], 3)
    with pytest.raises(ValueError, match="packet"):
        dispersion(rec, packet="everything")
    with pytest.raises(ValueError, match="packet: expected a window"):
        dispersion(rec, packet="decision")  # no decision times in this record
    with pytest.raises(ValueError, match="stop_ms > start_ms"):
        dispersion(rec, packet=(5.0, 1.0))
    with pytest.raises(ValueError, match="source"):
        dispersion(np.zeros(3))
    with pytest.raises(ValueError, match="sigma_ms"):
        synthetic_packets(5, -1.0, 2)


def test_elephant_complexity_cross_check():
    pytest.importorskip("elephant")
    from synsem_ephys.analysis.complexity import complexity_by_group

    n, n_trials = 40, 4
    sharp, _ = synthetic_packets(n, 0.3, n_trials, t0_ms=20.0, seed=1)
    wide, _ = synthetic_packets(n, 6.0, n_trials, t0_ms=30.0, seed=2)
    # spikes on bin edges exercise Elephant's rounding rule
    sharp[:3] = [19.0, 20.0, 21.0 - 1e-12]
    rec = _layered_record([(sharp.reshape(n_trials, n), "E"), (wide.reshape(n_trials, n), "E")], n_trials)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        c = complexity_by_group(rec, bin_ms=1.0, max_trials=3)
    assert c.agrees and c.trials.tolist() == [0, 1, 2]
    assert np.all(c.n_spikes == n)
    assert np.all(c.peak_complexity[0] > 2 * c.peak_complexity[1])
    assert np.all(c.mean_spike_complexity[0] > 2 * c.mean_spike_complexity[1])


def test_spikes_first_keeps_each_units_first_spike_and_several_spikes_are_named():
    from synsem_ephys.analysis.dispersion import dispersion, pulse_packets
    from synsem_ephys.record import SpikeRecord, TrialTable, UnitTable

    # two units, two trials; unit 0 fires 3 times in trial 0
    t = np.array([2.0, 1.0, 6.0, 3.0, 4.0, 5.0])
    u = np.array([0, 0, 0, 1, 0, 1])
    r = np.array([0, 0, 0, 0, 1, 1])
    rec = SpikeRecord(t, u, r, UnitTable.simple(2), TrialTable(np.zeros(2, int)), 10.0)
    d_all = dispersion(rec, packet=(0.0, 10.0))
    d_first = dispersion(rec, packet=(0.0, 10.0), spikes="first")
    assert d_all.max_spikes_per_unit_trial == 3 and d_first.max_spikes_per_unit_trial == 1
    assert "a counts spikes, not units" in d_all.packet_definition
    assert "first spike of the trial only" in d_first.packet_definition
    assert d_all.packet.count.tolist() == [[4, 2]] and d_first.packet.count.tolist() == [[2, 2]]
    assert d_first.packet.mean_ms[0, 0] == pytest.approx(2.0)  # unit 0's first (1.0) and unit 1's (3.0)
    assert pulse_packets(d_all).a_fraction[0] == pytest.approx(1.5) and pulse_packets(d_first).a_fraction[0] == 1.0
    with pytest.raises(ValueError, match="^spikes:"):
        dispersion(rec, spikes="last")
