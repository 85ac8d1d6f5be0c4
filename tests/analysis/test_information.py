"""Information gain: constructed cases with known answers, small-sample bias under the corrections,
activity definitions, labels, errors, and in-vivo data (locust antennal lobe, DANDI 000006)."""

import numpy as np
import pytest

from synsem_ephys.analysis.information import (activity_matrix, information_gain, information_gain_from_activity,
                                               summarize_by_group)
from synsem_ephys.record import SpikeRecord, TrialTable, UnitTable


def _balanced(n_classes=10, per_class=30, seed=0):
    rng = np.random.default_rng(seed)
    return rng.permutation(np.repeat(np.arange(n_classes), per_class))


def test_class_specific_unit_has_ig_one():
    lab = _balanced()
    act = np.zeros((lab.size, 3), bool)
    act[:, 0] = lab == 4                         # every trial of class 4, nothing else
    act[:, 1] = (lab == 7) & (np.arange(lab.size) % 2 == 0)   # half the trials of class 7
    act[:, 2] = True                             # always active
    for corr in ("none", "miller-madow", "shuffle"):
        r = information_gain_from_activity(act, lab, correction=corr, n_shuffles=100)
        np.testing.assert_allclose(r.ig[:2], 1.0, atol=1e-12 if corr != "miller-madow" else 0.05)
        assert abs(r.ig[2]) < 1e-12
    r = information_gain_from_activity(act, lab, correction="shuffle", n_shuffles=99)
    assert r.p_value[0] == pytest.approx(0.01) and r.p_value[2] == 1.0
    assert r.h_class_bits == pytest.approx(np.log2(10))


def test_hand_computed_value():
    """4 equiprobable classes (H = 2 bits); active in all trials of classes 0 and 1: H(C|a) = 1 bit, IG = 0.5."""
    lab = np.repeat(np.arange(4), 5)
    act = (lab < 2)[:, None]
    r = information_gain_from_activity(act, lab, correction="none", min_active_trials=1)
    assert r.ig[0] == pytest.approx(0.5, abs=1e-12) and r.h_class_bits == pytest.approx(2.0)
    # unlabelled trials (-1) are left out
    lab2 = np.concatenate([lab, [-1, -1]])
    act2 = np.concatenate([act, [[True], [True]]])
    r2 = information_gain_from_activity(act2, lab2, correction="none", min_active_trials=1)
    assert r2.ig[0] == pytest.approx(0.5) and r2.n_trials == 20 and r2.n_active[0] == 10


def test_class_independent_units_near_zero():
    lab = _balanced(per_class=100, seed=1)
    rng = np.random.default_rng(2)
    act = rng.random((lab.size, 50)) < 0.5
    r = information_gain_from_activity(act, lab, correction="shuffle", n_shuffles=100, seed=3)
    assert abs(np.mean(r.ig)) < 0.01 and np.max(np.abs(r.ig)) < 0.05
    assert 0.02 < np.mean(r.p_value) * 2 < 1.5  # p-values roughly uniform, not all small


def test_small_sample_bias_is_controlled():
    """Units active in only 12 random trials of 10 classes: raw plug-in IG is strongly biased up."""
    lab = _balanced(per_class=40, seed=4)
    rng = np.random.default_rng(5)
    act = np.zeros((lab.size, 200), bool)
    for u in range(200):
        act[rng.choice(lab.size, 12, replace=False), u] = True
    none = information_gain_from_activity(act, lab, correction="none", min_active_trials=10)
    mm = information_gain_from_activity(act, lab, correction="miller-madow", min_active_trials=10)
    sh = information_gain_from_activity(act, lab, correction="shuffle", n_shuffles=100, min_active_trials=10, seed=6)
    assert np.mean(none.ig) > 0.12  # plug-in bias ~ (m - 1) / (2 n ln 2) / H(C) ~ 0.2
    assert np.mean(mm.ig) < 0.5 * np.mean(none.ig)
    assert abs(np.mean(sh.ig)) < 0.03
    assert np.mean(sh.p_value < 0.05) < 0.12
    # a real effect survives: active in 12 trials, 10 of them class 0
    act[:, 0] = False
    act[np.flatnonzero(lab == 0)[:10], 0] = True
    act[np.flatnonzero(lab == 1)[:2], 0] = True
    sh = information_gain_from_activity(act, lab, correction="shuffle", n_shuffles=100, min_active_trials=10, seed=6)
    assert sh.ig[0] > 0.6 and sh.p_value[0] < 0.02
    # too few active trials -> NaN
    few = information_gain_from_activity(act, lab, correction="shuffle", n_shuffles=10, min_active_trials=13)
    assert np.all(np.isnan(few.ig)) and np.all(np.isnan(few.p_value))


def test_shuffles_are_seeded():
    lab = _balanced(per_class=10)
    act = np.random.default_rng(0).random((lab.size, 5)) < 0.3
    a = information_gain_from_activity(act, lab, n_shuffles=20, seed=1)
    b = information_gain_from_activity(act, lab, n_shuffles=20, seed=1, chunk=7)
    np.testing.assert_allclose(a.ig, b.ig)
    np.testing.assert_allclose(a.null_mean, b.null_mean)


def _record():
    """3 units, 4 trials of 2 classes; decisions at 10 ms (trial 3: none)."""
    t = np.array([5.0, 15.0, 2.0, 12.0, 1.0, 20.0, 21.0, 22.0])
    u = np.array([0, 0, 1, 2, 0, 1, 1, 1])
    r = np.array([0, 1, 1, 1, 2, 2, 3, 3])
    units = UnitTable.simple(3, population="p")
    trials = TrialTable(np.array([0, 1, 0, 1]), decision_time_ms=np.array([10.0, 10.0, 10.0, np.inf]),
                        columns={"kind": np.array(["b", "a", "b", "a"])})
    return SpikeRecord(t, u, r, units, trials, 30.0)


def test_activity_definitions():
    rec = _record()
    np.testing.assert_array_equal(activity_matrix(rec, "any"), [[1, 0, 0], [1, 1, 1], [1, 1, 0], [0, 1, 0]])
    np.testing.assert_array_equal(activity_matrix(rec, "decision"), [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(activity_matrix(rec, (11.0, 30.0)), [[0, 0, 0], [1, 0, 1], [0, 1, 0], [0, 1, 0]])
    np.testing.assert_array_equal(activity_matrix(rec, (19.0, 30.0), min_spikes=2), [[0, 0, 0]] * 2 + [[0, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(activity_matrix(rec, "any", min_spikes=[1, 2, 1])[3], [0, 1, 0])


def test_labels_from_a_trial_column_and_errors():
    rec = _record()
    ig = information_gain(rec, labels="kind", min_active_trials=1, correction="none")
    assert ig.class_names == ("a", "b")
    # unit 0: active in trials 0,1,2 (b, a, b) -> H(C|a) = 0.918 bits, IG = 0.082
    assert ig.ig[0] == pytest.approx(1 - (-(1 / 3) * np.log2(1 / 3) - (2 / 3) * np.log2(2 / 3)))
    with pytest.raises(ValueError, match="labels: expected a trial column"):
        information_gain(rec, labels="nope")
    with pytest.raises(ValueError, match="correction"):
        information_gain(rec, correction="magic")
    with pytest.raises(ValueError, match="min_spikes"):
        information_gain(rec, min_spikes=0)
    with pytest.raises(ValueError, match="at least two classes"):
        information_gain_from_activity(np.ones((4, 2), bool), np.zeros(4, int))
    with pytest.raises(ValueError, match="active: expected"):
        information_gain(rec, active="sometimes")


def test_locust_information_gain_about_the_odour():
    """Locust antennal lobe (Pouzat 2001-02-14), 10 units x 370 trials of 14 stimulus groups.

    "Active" = more spikes in a window than the unit's 95th percentile in the 500 ms before the odour
    response (the response starts ~10.15 s into each 30 s trial; measured from the PSTH). In the first
    500 ms of the response several units carry significant information about the stimulus group.
    """
    from helpers import ephys_dir
    from synsem_ephys.adapters.spiketimes_text import load_locust

    rec = load_locust(ephys_dir() / "locust20010214")
    base = activity_counts(rec, (9500.0, 10000.0))
    thr = np.floor(np.quantile(base, 0.95, axis=0)).astype(int) + 1
    resp = information_gain(rec, active=(10150.0, 10650.0), min_spikes=thr, n_shuffles=200, seed=0)
    assert resp.n_classes == 14 and resp.n_trials == 370
    sig = resp.valid & (resp.p_value < 0.01)
    assert sig.sum() >= 3
    assert np.nanmax(resp.ig) > 0.3
    s = summarize_by_group(resp)
    assert len(s) == 1 and s[0].group == "tetB" and s[0].n_units == 10


def activity_counts(rec, window):
    m = (rec.times_ms >= window[0]) & (rec.times_ms < window[1])
    flat = rec.trial_index[m] * rec.n_units + rec.unit_index[m]
    return np.bincount(flat, minlength=rec.n_trials * rec.n_units).reshape(rec.n_trials, rec.n_units)


def test_dandi_alm_unit_carries_trial_type_in_the_sample_epoch():
    """DANDI 000006 (Economo et al. 2018, mouse ALM), session anm372793: one unit, 340 trials lick left/right.

    Active = >= 2 spikes in [4, 6) s of the trial (pole in ~4.2-4.9 s, pole out ~5.7 s: sample epoch)
    vs the same rule in [0, 4) s (before the pole): information about the trial type only in the former.
    """
    pytest.importorskip("pynwb")
    from helpers import ephys_dir
    from synsem_ephys.adapters.nwb import load_nwb

    rec = load_nwb(ephys_dir() / "dandi000006" / "sub-anm372793_ses-20170508.nwb")
    assert rec.trials.label_names == ("lick left", "lick right")
    sample = information_gain(rec, active=(4000.0, 6000.0), min_spikes=2, n_shuffles=300, seed=0)
    before = information_gain(rec, active=(0.0, 4000.0), min_spikes=2, n_shuffles=300, seed=0)
    assert sample.ig[0] > 0.03 and sample.p_value[0] < 0.01
    assert abs(before.ig[0]) < 0.02 and before.p_value[0] > 0.05
