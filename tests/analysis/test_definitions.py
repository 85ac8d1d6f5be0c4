"""The named definitions: strict vs at-or-before the decision, pooled vs median spread with ddof,
against direct computations on hand-built records."""

import numpy as np
import pytest

from synsem_ephys.analysis import DEFINITIONS, activity_matrix, information_gain, pulse_packets, spike_mask
from synsem_ephys.analysis.dispersion import dispersion
from synsem_ephys.record import SpikeRecord, TrialTable, UnitTable


def _tied_record():
    # 2 trials, decision at 5.0 ms (trial 0) and 7.0 ms (trial 1); unit 0 fires exactly on the decision time
    units = UnitTable(name=["h_0", "h_1", "out_0"], population=["h", "h", "out"], layer=[1, 1, 2],
                      cell_type=["E", "E", "output"], index_in_population=[0, 1, 0], channel_id=[0, 1, 2])
    times = np.array([5.0, 2.0, 5.0, 7.0, 9.0, 7.0])
    unit = np.array([0, 1, 2, 0, 1, 2])
    trial = np.array([0, 0, 0, 1, 1, 1])
    trials = TrialTable(np.array([0, 1]), np.array([0, 0]), np.array([5.0, 7.0]))
    return SpikeRecord(times, unit, trial, units, trials, 20.0)


def test_strict_and_at_or_before_differ_exactly_by_the_ties():
    rec = _tied_record()
    assert spike_mask(rec, "decision").tolist() == [True, True, True, True, False, True]
    assert spike_mask(rec, "before_decision").tolist() == [False, True, False, False, False, False]
    strict = activity_matrix(rec, "before_decision")
    loose = activity_matrix(rec, "decision")
    assert strict.tolist() == [[False, True, False], [False, False, False]]
    assert loose.tolist() == [[True, True, True], [True, False, True]]
    assert set(DEFINITIONS) == {"any", "before_decision", "decision"}
    ig = information_gain(rec, active="before_decision", correction="none", min_active_trials=1)
    assert ig.definition == DEFINITIONS["before_decision"] and "strictly" in ig.definition


def test_unknown_definition_names_the_choices():
    with pytest.raises(ValueError, match=r"active: expected one of \['any', 'before_decision', 'decision'\]"):
        activity_matrix(_tied_record(), "befor_decision")


def _packet_record(seed=0, n_trials=30):
    rng = np.random.default_rng(seed)
    times, unit, trial = [], [], []
    for r in range(n_trials):
        n = int(rng.integers(1, 6))
        t = 10.0 + r * 0.3 + rng.normal(0, 1.0, n)
        times += np.clip(t, 0, None).tolist()
        unit += list(range(n))
        trial += [r] * n
    units = UnitTable.simple(6)
    return SpikeRecord(np.array(times), np.array(unit), np.array(trial), units, TrialTable(np.full(n_trials, -1)),
                       40.0)


@pytest.mark.parametrize("ddof", [0, 1])
def test_pooled_and_median_spread_equal_direct_numpy(ddof):
    rec = _packet_record()
    pk = pulse_packets(dispersion(rec, packet=None), "all", ddof=ddof)
    per_trial = [rec.times_ms[rec.trial_index == r] for r in range(rec.n_trials)]
    direct_median = np.median([np.std(t, ddof=ddof) for t in per_trial if t.size >= 2])
    direct_pooled = np.std(rec.times_ms, ddof=ddof)
    assert pk.sigma_median_ms[0] == pytest.approx(direct_median, rel=1e-12)
    assert pk.sigma_pooled_ms[0] == pytest.approx(direct_pooled, rel=1e-12)
    assert pk.sigma_ms("pooled") is pk.sigma_pooled_ms and pk.ddof == ddof
    with pytest.raises(ValueError, match="spread: expected one of"):
        pk.sigma_ms("mean")
    with pytest.raises(ValueError, match="ddof: expected 0 or 1"):
        pulse_packets(dispersion(rec, packet=None), "all", ddof=2)
