"""Exact all-pairs STTC: hand-computed cases, a brute-force reference, Elephant on short trains."""

import warnings

import neo
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import sim_record
from synsem_ephys.analysis.sttc import sttc_matrix, sttc_matrix_spiketrains, sttc_matrix_trials
from synsem_ephys.record import SpikeRecord, TrialTable, UnitTable


def brute_sttc(trains, dt, windows):
    """Reference from the definition (Cutts & Eglen 2014), O(n^2), trains given per window.

    trains[w][u] = spike times of unit u in window w = (start, stop).
    """
    n = len(trains[0])
    total = sum(b - a for a, b in windows)
    T = np.zeros(n)
    P = np.zeros((n, n))
    N = np.zeros(n)
    for w, (a, b) in enumerate(windows):
        for u in range(n):
            t = np.sort(trains[w][u])
            ivs = sorted((max(a, x - dt), min(b, x + dt)) for x in t)
            cur_lo, cur_hi = None, None
            for lo, hi in ivs:
                if cur_hi is None or lo > cur_hi:
                    if cur_hi is not None:
                        T[u] += cur_hi - cur_lo
                    cur_lo, cur_hi = lo, hi
                else:
                    cur_hi = max(cur_hi, hi)
            if cur_hi is not None:
                T[u] += cur_hi - cur_lo
            N[u] += t.size
            for v in range(n):
                other = np.asarray(trains[w][v])
                for x in t:
                    P[u, v] += bool(other.size and np.min(np.abs(other - x)) <= dt)
    T /= total
    out = np.full((n, n), np.nan)
    for u in range(n):
        for v in range(n):
            if N[u] and N[v]:
                pa, pb = P[u, v] / N[u], P[v, u] / N[v]
                h1 = 1.0 if pa * T[v] == 1 else (pa - T[v]) / (1 - pa * T[v])
                h2 = 1.0 if pb * T[u] == 1 else (pb - T[u]) / (1 - pb * T[u])
                out[u, v] = 0.5 * h1 + 0.5 * h2
    return out


def test_hand_computed():
    # A = {10, 50}, B = {10.5} on [0, 100], dt 1: T_A = 4/100, T_B = 2/100, P_A = 1/2, P_B = 1
    r = sttc_matrix([10.0, 50.0, 10.5], [0, 0, 1], 2, 1.0, 0.0, 100.0)
    expected = 0.5 * (0.5 - 0.02) / (1 - 0.5 * 0.02) + 0.5 * (1 - 0.04) / (1 - 0.04)
    assert r.sttc[0, 1] == pytest.approx(expected, abs=1e-14) and r.sttc[1, 0] == r.sttc[0, 1]
    np.testing.assert_allclose(r.tiling, [0.04, 0.02])
    np.testing.assert_array_equal(r.coincident, [[0, 1], [1, 0]])
    # tiling clipped at the window edges; |dt| boundary inclusive
    r = sttc_matrix([0.5, 1.5, 99.5], [0, 1, 2], 3, 1.0, 0.0, 100.0)
    np.testing.assert_allclose(r.tiling * 100, [1.5, 2.0, 1.5])
    assert r.coincident[0, 1] == 1 and r.coincident[1, 0] == 1
    # a silent unit gives NaN; the diagonal of active units is 1
    r = sttc_matrix([5.0], [0], 2, 1.0, 0.0, 10.0)
    assert r.sttc[0, 0] == 1.0 and np.isnan(r.sttc[1]).all() and np.isnan(r.sttc[:, 1]).all()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([0.5, 1.0, 3.0]))
def test_matches_brute_force_with_trials(seed, dt):
    rng = np.random.default_rng(seed)
    n_units, n_trials, dur = 4, 3, 20.0
    n = rng.integers(0, 25)
    times = np.round(rng.random(n) * dur * 4) / 4  # quarter-ms grid: exact ties and |diff| == dt occur
    times = np.minimum(times, dur - 0.25)
    units, trials = rng.integers(0, n_units, n), rng.integers(0, n_trials, n)
    rec = SpikeRecord(times, units, trials, UnitTable.simple(n_units), TrialTable(np.zeros(n_trials, int)), dur)
    got = sttc_matrix_trials(rec, dt).sttc
    ref = brute_sttc([[times[(trials == w) & (units == u)] for u in range(n_units)] for w in range(n_trials)], dt,
                     [(0.0, dur)] * n_trials)
    np.testing.assert_allclose(got, ref, atol=1e-12, equal_nan=True)


def test_agrees_with_elephant_on_short_trains():
    import quantities as pq
    from elephant.spike_train_correlation import spike_time_tiling_coefficient

    rng = np.random.default_rng(0)
    for _ in range(15):
        trains = [neo.SpikeTrain(np.sort(rng.integers(0, 400, rng.integers(1, 15)) * 0.25), units="ms", t_stop=100.0)
                  for _ in range(5)]
        dt = float(rng.choice([0.5, 1.0, 2.5]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = np.array([[spike_time_tiling_coefficient(a, b, dt * pq.ms) for b in trains] for a in trains])
        np.testing.assert_allclose(sttc_matrix_spiketrains(trains, dt).sttc, ref, atol=1e-12)


def test_elephant_window_grows_with_absolute_time():
    """Documented difference: Elephant's np.isclose adds 1e-5 * |t|, i.e. 10 ms at t = 1e6 ms (PR #706)."""
    import quantities as pq
    from elephant.spike_train_correlation import spike_time_tiling_coefficient

    a = neo.SpikeTrain([1e6], units="ms", t_stop=2e6)
    b = neo.SpikeTrain([1e6 + 3.0], units="ms", t_stop=2e6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        el = spike_time_tiling_coefficient(a, b, 1.0 * pq.ms)
    ours = sttc_matrix_spiketrains([a, b], 1.0).sttc[0, 1]
    assert el > 0.99 and ours < 0  # 3 ms apart is no coincidence at dt = 1 ms
    # the same pair early in the recording: both agree
    a0, b0 = (neo.SpikeTrain([10.0 + x], units="ms", t_stop=2e6) for x in (0.0, 3.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert spike_time_tiling_coefficient(a0, b0, 1.0 * pq.ms) == pytest.approx(
            sttc_matrix_spiketrains([a0, b0], 1.0).sttc[0, 1], abs=1e-12)


def test_no_coincidence_across_trials_and_shift_invariance():
    units = UnitTable.simple(2)
    rec = SpikeRecord([9.9, 0.1], [0, 1], [0, 1], units, TrialTable([0, 0]), 10.0)
    r = sttc_matrix_trials(rec, 1.0)
    assert r.coincident.sum() == 0  # 0.2 ms apart on the Block's axis only if trials were glued without a gap
    rec, _ = sim_record(n_trials=6, seed=5)
    inner = (rec.times_ms >= 2.0) & (rec.times_ms <= rec.trial_duration_ms - 2.0)  # no tiling clipped at trial ends
    rec = SpikeRecord(rec.times_ms[inner], rec.unit_index[inner], rec.trial_index[inner], rec.units, rec.trials,
                      rec.trial_duration_ms)
    base = sttc_matrix_trials(rec, 2.0)
    shifted = sttc_matrix(rec.times_ms + rec.trial_index * 1000.0 + 123.0, rec.unit_index, rec.n_units, 2.0, 123.0,
                          123.0 + 6000.0)
    # one long recording with 1 s per trial: same coincidences; tiling rescaled by the time base
    np.testing.assert_array_equal(base.coincident, shifted.coincident)
    np.testing.assert_allclose(base.tiling * rec.trial_duration_ms / 1000.0, shifted.tiling, rtol=1e-12)


def test_sttc_input_errors():
    with pytest.raises(ValueError, match="dt_ms: expected a finite float > 0"):
        sttc_matrix([1.0], [0], 1, 0.0, 0.0, 10.0)
    with pytest.raises(ValueError, match="times_ms: expected finite times inside"):
        sttc_matrix([11.0], [0], 1, 1.0, 0.0, 10.0)
    with pytest.raises(ValueError, match=r"unit_index: expected indices in \[0, 1\)"):
        sttc_matrix([1.0], [1], 1, 1.0, 0.0, 10.0)
    a = neo.SpikeTrain([1.0], units="ms", t_stop=10.0)
    b = neo.SpikeTrain([1.0], units="ms", t_stop=20.0)
    with pytest.raises(ValueError, match=r"spiketrains\[1\] .*: expected t_start 0.0 ms and t_stop"):
        sttc_matrix_spiketrains([a, b], 1.0)


def test_sttc_by_condition_is_the_trials_sttc_of_each_condition_on_the_most_active_units():
    from synsem_ephys.analysis.sttc import sttc_by_condition

    rec, _ = sim_record(n_trials=30, seed=5)
    lab = rec.trials.label
    res = sttc_by_condition(rec, 2.0, max_units=7)
    counts = np.bincount(rec.unit_index, minlength=rec.n_units)
    assert res.unit_rows.size == 7 and set(counts[res.unit_rows]) <= set(np.sort(counts)[-7:])
    assert list(res.class_names) == [str(c) for c in np.unique(lab)] or len(res.class_names) == np.unique(lab).size
    for k, c in enumerate(np.unique(lab)):
        direct = sttc_matrix_trials(rec, 2.0, units=res.unit_rows, trials=np.flatnonzero(lab == c)).sttc
        np.testing.assert_array_equal(res.sttc[k], direct)
        off = direct[~np.eye(7, dtype=bool)]
        assert res.mean_pair[k] == pytest.approx(np.nanmean(off)) and res.n_trials[k] == np.sum(lab == c)
    unlabelled = SpikeRecord(rec.times_ms, rec.unit_index, rec.trial_index, rec.units,
                             TrialTable(np.full(rec.n_trials, -1)), rec.trial_duration_ms)
    one = sttc_by_condition(unlabelled, 2.0)
    assert one.class_names == ("all trials",) and one.n_trials.tolist() == [rec.n_trials]
    np.testing.assert_array_equal(one.sttc[0], sttc_matrix_trials(rec, 2.0).sttc)
    with pytest.raises(ValueError, match="^dt_ms:"):
        sttc_by_condition(rec, 0.0)
