"""analysis.units: the per-unit table and the PSTH against direct computations on hand-built records."""

import numpy as np
import pytest

from synsem_ephys.analysis.information import information_gain
from synsem_ephys.analysis.units import UnitStats, auto_bin_ms, psth, unit_table
from synsem_ephys.record import SpikeRecord, TrialTable, UnitTable


def _record(seed=0, n_trials=12, n_units=5):
    """Units of different rates in trials of different lengths; unit 3 fires in bursts (ISIs < 1.5 ms),
    unit 4 only in class 'B' trials before 50 ms, one unit silent."""
    rng = np.random.default_rng(seed)
    dur = rng.choice([400.0, 500.0, 600.0], n_trials)
    label = np.where(np.arange(n_trials) == 5, -1, np.arange(n_trials) % 3)  # trial 5 unlabelled
    t, u, r = [], [], []
    for tr in range(n_trials):
        for unit, rate_hz in enumerate((5.0, 40.0, 0.0, 20.0)):
            k = rng.poisson(rate_hz * dur[tr] / 1000.0)
            times = rng.uniform(0, dur[tr], k)
            if unit == 3:
                times = np.concatenate([times, np.minimum(times + rng.uniform(0.2, 1.4, k), dur[tr] - 1e-6)])
            t.append(times), u.append(np.full(times.size, unit)), r.append(np.full(times.size, tr))
        if label[tr] == 1:
            times = np.sort(rng.uniform(0, 50.0, 3))
            t.append(times), u.append(np.full(3, 4)), r.append(np.full(3, tr))
    units = UnitTable.simple(n_units, population="probe")
    trials = TrialTable(label, columns={"duration_ms": dur}, label_names=("A", "B", "C"))
    rec = SpikeRecord(np.concatenate(t), np.concatenate(u), np.concatenate(r), units, trials, 600.0)
    return rec, dur


def _direct(rec, dur, refractory_ms, active_window):
    """Rate, CV, violations, P(active | class) and the preferred class, by explicit loops."""
    out = []
    lab = rec.trials.label
    for unit in range(rec.n_units):
        isis = []
        for tr in range(rec.n_trials):
            ts = np.sort(rec.times_ms[(rec.unit_index == unit) & (rec.trial_index == tr)])
            isis.extend(np.diff(ts).tolist())
        isis = np.array(isis)
        n = int(np.sum(rec.unit_index == unit))
        cv = np.std(isis, ddof=1) / np.mean(isis) if isis.size >= 2 else np.nan
        viol = np.mean(isis < refractory_ms) if isis.size else np.nan
        p = []
        for c in (0, 1, 2):
            trials = np.flatnonzero(lab == c)
            act = [np.any((rec.unit_index == unit) & (rec.trial_index == tr) & (rec.times_ms >= active_window[0])
                          & (rec.times_ms < active_window[1])) for tr in trials]
            p.append(np.mean(act))
        pref = int(np.argmax(p)) if max(p) > 0 else -1
        out.append(dict(rate=n * 1000.0 / dur.sum(), cv=cv, viol=viol, p=p, pref=pref, n_isi=isis.size))
    return out


def test_unit_table_equals_a_direct_computation():
    rec, dur = _record()
    window = (0.0, 100.0)
    res = unit_table(rec, active=window, labels=None, refractory_ms=1.5, min_active_trials=2, n_shuffles=50, seed=1)
    assert isinstance(res, UnitStats) and res.class_names == ("A", "B", "C")
    assert res.total_duration_ms == dur.sum() and res.refractory_ms == 1.5
    assert res.n_active[0] == sum(np.any((rec.unit_index == 0) & (rec.trial_index == tr) & (rec.times_ms < 100.0))
                                  for tr in np.flatnonzero(rec.trials.label >= 0))
    for unit, d in enumerate(_direct(rec, dur, 1.5, window)):
        assert res.rate_hz[unit] == pytest.approx(d["rate"], rel=1e-12)
        assert res.n_isi[unit] == d["n_isi"]
        np.testing.assert_allclose(res.cv_isi[unit], d["cv"], rtol=1e-10)
        np.testing.assert_allclose(res.isi_violation_fraction[unit], d["viol"], rtol=1e-12)
        np.testing.assert_allclose(res.p_active[unit], d["p"], rtol=1e-12)
        assert res.preferred[unit] == d["pref"], unit
    assert res.preferred_name[4] == "B" and res.p_active[4].tolist() == [0.0, 1.0, 0.0]
    assert res.preferred[2] == -1 and res.preferred_name[2] == "" and np.isnan(res.cv_isi[2])  # the silent unit
    assert res.isi_violation_fraction[3] > 0.4 > res.isi_violation_fraction[1]  # the bursting unit violates
    ig = information_gain(rec, active=window, min_active_trials=2, n_shuffles=50, seed=1)
    np.testing.assert_array_equal(res.ig, ig.ig)
    np.testing.assert_array_equal(res.ig_p_value, ig.p_value)
    assert res.ig[4] > 0.5 and "[0, 100) ms" in res.definition
    # the report passes its IG in: reused as it is
    again = unit_table(rec, active=window, labels=None, min_active_trials=2, n_shuffles=50, seed=1, information=ig)
    np.testing.assert_array_equal(again.ig, res.ig)
    rows = res.rows()
    assert list(rows[0]) == list(UnitStats.COLUMNS) and rows[4]["preferred"] == "B"
    assert rows[4]["p_active_preferred"] == 1.0 and rows[2]["preferred"] == ""


def test_the_refractory_threshold_and_ties():
    # unit 0: ISIs 1.0, 1.5, 2.0 ms (only 1.0 < 1.5); an interval across trials 0 -> 1 is not an ISI
    t = np.array([0.0, 1.0, 2.5, 4.5, 0.2, 5.0, 5.0])
    u = np.array([0, 0, 0, 0, 0, 1, 1])
    r = np.array([0, 0, 0, 0, 1, 0, 1])
    rec = SpikeRecord(t, u, r, UnitTable.simple(2), TrialTable(np.array([0, 1])), 10.0)
    res = unit_table(rec, active="any", labels=None, correction="none")
    assert res.n_isi.tolist() == [3, 0] and res.n_isi_violations.tolist() == [1, 0]
    assert res.isi_violation_fraction[0] == pytest.approx(1 / 3) and np.isnan(res.isi_violation_fraction[1])
    np.testing.assert_allclose(res.cv_isi[0], np.std([1.0, 1.5, 2.0], ddof=1) / 1.5)
    assert res.rate_hz.tolist() == [5 * 1000.0 / 20.0, 2 * 1000.0 / 20.0]
    assert unit_table(rec, active="any", labels=None, refractory_ms=2.0, correction="none").n_isi_violations[0] == 2
    assert res.preferred.tolist() == [0, 0]  # active in both classes: the tie goes to the lowest class
    with pytest.raises(ValueError, match="refractory_ms: expected a finite float > 0"):
        unit_table(rec, active="any", labels=None, refractory_ms=0)
    with pytest.raises(TypeError, match="active"):
        unit_table(rec, labels=None)  # which spikes count is always named
    ig = information_gain(rec, active="any", correction="none", min_active_trials=1)
    with pytest.raises(ValueError, match="information: expected an IG of this record's 2 units with active"):
        unit_table(rec, active=(0.0, 1.0), labels=None, correction="none", information=ig)


def test_psth_equals_brute_force_binning_with_trials_of_different_lengths():
    rec, dur = _record(seed=3)
    res = psth(rec, labels=None, bin_ms=50.0)
    assert res.class_names == ("A", "B", "C") and res.bin_ms == 50.0
    np.testing.assert_array_equal(res.edges_ms, np.arange(0, 601, 50.0))
    lab = rec.trials.label
    for c in range(3):
        for b in range(12):
            lo, hi = 50.0 * b, 50.0 * (b + 1)
            trials = [tr for tr in np.flatnonzero(lab == c) if dur[tr] >= hi]
            assert res.n_trials[c, b] == len(trials)
            for unit in range(rec.n_units):
                n = sum(np.sum((rec.unit_index == unit) & (rec.trial_index == tr) & (rec.times_ms >= lo)
                               & (rec.times_ms < hi)) for tr in trials)
                expect = n / (len(trials) * 0.05) if trials else np.nan
                np.testing.assert_allclose(res.rate_hz[c, unit, b], expect, rtol=1e-12, err_msg=f"{c} {unit} {b}")
    window = psth(rec, labels=None, bin_ms=30.0, window_ms=(10.0, 100.0))
    np.testing.assert_allclose(window.edges_ms, [10.0, 40.0, 70.0, 100.0])
    unlabelled = SpikeRecord(rec.times_ms, rec.unit_index, rec.trial_index, rec.units,
                             TrialTable(np.full(rec.n_trials, -1), columns=dict(rec.trials.columns)), 600.0)
    assert psth(unlabelled, labels=None).class_names == ("all trials",)
    with pytest.raises(ValueError, match="bin_ms: expected a finite float > 0"):
        psth(rec, labels=None, bin_ms=-1.0)
    with pytest.raises(ValueError, match="window_ms: expected"):
        psth(rec, labels=None, window_ms=(5.0, 5.0))


def test_auto_bins_are_1_2_5_steps():
    assert [auto_bin_ms(d) for d in (30000.0, 2000.0, 150.0, 151.0, 10.0)] == [200.0, 20.0, 1.0, 2.0, 0.1]
