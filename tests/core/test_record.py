"""SpikeRecord: construction, validation (errors name argument/expected/got), from_layer_times, views."""


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from helpers import sim_record, small_spec
from synsem_ephys.record import EventTimes, SpikeRecord, TrialTable, UnitTable


def _rec(times, units, trials, n_units=2, n_trials=2, dur=10.0, **kw):
    return SpikeRecord(times, units, trials, UnitTable.simple(n_units), TrialTable(np.zeros(n_trials, int)), dur, **kw)


def test_from_layer_times_units_in_layer_order_and_dense_roundtrip():
    spec = small_spec()
    rec, layers = sim_record(n_trials=5, seed=1, spec=spec)
    assert rec.n_units == sum(spec.layer_sizes) and rec.n_trials == 5
    np.testing.assert_array_equal(rec.first_spike_matrix(), np.hstack(layers))
    pops = [p.name for p in spec.populations()]
    assert list(dict.fromkeys(rec.units.population.tolist())) == pops
    assert rec.units.cell_type.tolist()[:6] == ["input"] * 6
    assert rec.units.name[6] == "hidden1_E_0" and rec.units.layer[6] == 1
    assert rec.units.index_in_population[10] == 0 and rec.units.cell_type[10] == "I"
    # decision time = earliest output spike, +inf when no output fired
    np.testing.assert_array_equal(rec.trials.decision_time_ms, layers[-1].min(axis=1))
    assert rec.meta["source"] == "synsem_ephys.sim" and rec.meta["seed"] == 1


def test_default_trial_duration_is_past_latest_spike():
    spec = small_spec()
    layers = [np.full((2, n), np.inf) for n in spec.layer_sizes]
    layers[1][0, 0] = 12.25
    rec = SpikeRecord.from_layer_times(layers, spec.populations())
    assert rec.trial_duration_ms == 14.0 and rec.n_spikes == 1
    assert np.isinf(rec.trials.decision_time_ms).all() and (rec.trials.label == -1).all()
    silent = SpikeRecord.from_layer_times([np.full((3, n), np.inf) for n in spec.layer_sizes], spec.populations())
    assert silent.n_spikes == 0 and silent.trial_duration_ms == 1.0


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(np.float64, (4, 5), elements=st.one_of(st.just(np.inf), st.floats(0, 100, width=32))))
def test_first_spike_matrix_roundtrip_property(mat):
    from synsem_ephys.spec import Population

    pops = [Population("input", 0, "input", 0, 2), Population("output", 1, "output", 0, 3)]
    rec = SpikeRecord.from_layer_times([mat[:, :2], mat[:, 2:]], pops)
    np.testing.assert_array_equal(rec.first_spike_matrix(), mat)
    np.testing.assert_array_equal(rec.count_matrix(), np.isfinite(mat).astype(int))


@pytest.mark.parametrize("bad, match", [
    (lambda s, L: [L[0][:, :-1]] + L[1:], "populations"),
    (lambda s, L: [L[0][:-1]] + L[1:], "same number of trials"),
    (lambda s, L: [np.where(L[0] > 5, np.nan, L[0])] + L[1:], "NaN or negative"),
    (lambda s, L: [L[0].ravel()] + L[1:], "2-D array"),
    (lambda s, L: [], "non-empty list"),
])
def test_from_layer_times_rejects_bad_input(bad, match):
    spec = small_spec()
    _, layers = sim_record(n_trials=3, spec=spec)
    with pytest.raises(ValueError, match=match):
        SpikeRecord.from_layer_times(bad(spec, layers), spec.populations())


def test_labels_shape_checked():
    spec = small_spec()
    _, layers = sim_record(n_trials=3, spec=spec)
    with pytest.raises(ValueError, match=r"labels: expected shape \(3,\)"):
        SpikeRecord.from_layer_times(layers, spec.populations(), labels=[0, 1])


@pytest.mark.parametrize("args, match", [
    (([1.0, 2.0], [0], [0, 0]), "unit_index: expected length 2"),
    (([1.0, 10.0], [0, 1], [0, 1]), r"times_ms: expected times in \[0, trial_duration_ms=10.0\)"),
    (([1.0, -1.0], [0, 1], [0, 1]), "times_ms"),
    (([1.0, np.inf], [0, 1], [0, 1]), "finite spike times"),
    (([1.0, 2.0], [0, 2], [0, 1]), r"unit_index: expected indices in \[0, 2\)"),
    (([1.0, 2.0], [0, 1], [0, 5]), "trial_index"),
    (([1.0, 2.0], [0, 1.5], [0, 1]), "integer values"),
])
def test_spike_arrays_validated(args, match):
    with pytest.raises(ValueError, match=match):
        _rec(*args)


def test_tables_validated():
    with pytest.raises(ValueError, match="units.name: expected unique unit names"):
        UnitTable(["a", "a"], ["p", "p"], [0, 0], ["E", "E"], [0, 1], [0, 1])
    with pytest.raises(ValueError, match="units.cell_type"):
        UnitTable(["a", "b"], ["p", "p"], [0, 0], ["E", "pyramidal"], [0, 1], [0, 1])
    with pytest.raises(ValueError, match="label_names"):
        TrialTable([0, 3], label_names=("a", "b"))
    with pytest.raises(ValueError, match=r"trials.columns\['x'\]: expected length 2"):
        TrialTable([0, 1], columns={"x": [1, 2, 3]})
    with pytest.raises(ValueError, match="trial_duration_ms"):
        _rec([], [], [], dur=0.0)
    with pytest.raises(ValueError, match="duration_ms"):
        SpikeRecord([6.0], [0], [0], UnitTable.simple(1), TrialTable([0], columns={"duration_ms": [5.0]}), 10.0)
    with pytest.raises(ValueError, match="events"):
        _rec([], [], [], events={"lick": EventTimes([1.0], [7])})


def test_record_is_read_only_and_accessors():
    rec = _rec([3.0, 1.0, 2.0], [1, 1, 0], [1, 0, 0])
    with pytest.raises(ValueError):
        rec.times_ms[0] = 5.0
    t, r = rec.spikes_of(1)
    np.testing.assert_array_equal(t, [1.0, 3.0])
    np.testing.assert_array_equal(r, [0, 1])
    np.testing.assert_array_equal(rec.spikes_of("unit0")[0], [2.0])
    with pytest.raises(ValueError, match="unit: expected"):
        rec.spikes_of(9)
    sub = rec.select(units=[1], trials=[1])
    assert sub.n_units == 1 and sub.n_trials == 1 and sub.times_ms.tolist() == [3.0]
    assert sub.trial_index.tolist() == [0] and sub.unit_index.tolist() == [0]


def test_window_cuts_every_trial_and_shifts_time_zero():
    rec, _ = sim_record(n_trials=6, seed=2)
    w = rec.window(5.0, 20.0, trials=[1, 3])
    assert w.n_trials == 2 and w.trial_duration_ms == 15.0 and w.meta["window_ms"] == [5.0, 20.0]
    sub = rec.select(trials=[1, 3])
    keep = (sub.times_ms >= 5.0) & (sub.times_ms < 20.0)
    np.testing.assert_array_equal(w.times_ms, sub.times_ms[keep] - 5.0)
    np.testing.assert_array_equal(w.trial_index, sub.trial_index[keep])
    np.testing.assert_array_equal(w.trials.decision_time_ms, sub.trials.decision_time_ms - 5.0)
    with pytest.raises(ValueError, match=r"start_ms, stop_ms: expected 0 <= start_ms < stop_ms"):
        rec.window(10.0, 5.0)


def test_with_decisions_takes_the_earliest_output_spike_of_each_trial():
    units = UnitTable(np.array(["h0", "o0", "o1", "o2"]), np.array(["hidden", "output", "output", "output"]),
                      np.array([1, 2, 2, 2]), np.array(["E", "output", "output", "output"]), np.arange(4), np.arange(4))
    # trial 0: o2 first (class 2); trial 1: o0 and o1 tie -> the lower (0), a hidden spike earlier does not count;
    # trial 2: no output spike -> -1 / inf; several spikes of one output: its first counts
    t = np.array([5.0, 3.0, 7.0, 1.0, 4.0, 4.0, 2.0, 9.0, 8.0])
    u = np.array([1, 3, 3, 0, 1, 2, 0, 2, 2])
    r = np.array([0, 0, 0, 1, 1, 1, 2, 0, 0])
    rec = SpikeRecord(t, u, r, units, TrialTable(np.array([2, 0, 1])), 10.0)
    d = rec.with_decisions()
    assert d.trials.prediction.tolist() == [2, 0, -1]
    assert d.trials.decision_time_ms.tolist() == [3.0, 4.0, np.inf]
    assert d.meta["decisions_from"] == "units of cell type or population 'output'"
    assert rec.with_decisions(output=[0]).trials.prediction.tolist() == [-1, 0, 0]
    with pytest.raises(ValueError, match="^output: expected units of population 'readout'"):
        rec.with_decisions(output="readout")
