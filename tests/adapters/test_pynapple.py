"""The pynapple bridge: TsGroup + IntervalSet -> SpikeRecord -> TsGroup + IntervalSet, against direct computations.

Skips with the reason when pynapple is not installed (``pip install pynapple``).
"""

import warnings

import numpy as np
import pytest

from helpers import assert_records_equal, ephys_dir, sim_record
from synsem_ephys.adapters import CONVERTERS, get_converter
from synsem_ephys.record import SpikeRecord, TrialTable, UnitTable

nap = pytest.importorskip("pynapple", reason="pynapple is not installed (pip install pynapple): the bridge is optional")

from synsem_ephys.adapters.pynapple import from_pynapple, to_pynapple  # noqa: E402


def _group():
    """Three units (keys 2, 5, 9) over 0 .. 10 s with metadata, and three trials with metadata."""
    t = {2: [0.5, 1.25, 4.0, 7.5], 5: [], 9: [1.0, 1.001, 4.5, 9.99]}
    group = nap.TsGroup({k: nap.Ts(t=np.array(v, float)) for k, v in t.items()}, time_support=nap.IntervalSet(0, 10),
                        metadata={"depth_um": [100.0, 250.0, 400.0], "region": ["CA1", "CA1", "CA3"],
                                  "good": [True, False, True]})
    epochs = nap.IntervalSet(start=[0.0, 4.0, 7.0], end=[2.0, 5.0, 8.0],
                             metadata={"label": ["sound", "light", "sound"], "contrast": [0.1, 0.5, 0.9]})
    return t, group, epochs


def conformance_record():
    """The record of :func:`_group` (for the conformance suite's SOURCES)."""
    _, group, epochs = _group()
    return from_pynapple(group, epochs, outside="count")


def test_tsgroup_and_intervals_become_units_and_trials():
    t, group, epochs = _group()
    rec = from_pynapple(group, epochs, outside="count", population_column="region")
    assert rec.units.name.tolist() == ["unit2", "unit5", "unit9"]
    assert rec.units.channel_id.tolist() == [2, 5, 9] and rec.units.population.tolist() == ["CA1", "CA1", "CA3"]
    np.testing.assert_array_equal(rec.units.columns["depth_um"], [100.0, 250.0, 400.0])
    np.testing.assert_array_equal(rec.units.columns["good"], [True, False, True])
    assert "rate" not in rec.units.columns  # derived by pynapple from the time support
    # by hand: trial windows [0, 2), [4, 5), [7, 8) s
    starts_ms = np.array([0.0, 4000.0, 7000.0])
    for row, key in enumerate((2, 5, 9)):
        ms = np.array(t[key]) * 1000.0
        r = np.searchsorted(starts_ms, ms, "right") - 1
        keep = (r >= 0) & (ms < starts_ms[np.maximum(r, 0)] + np.array([2000.0, 1000.0, 1000.0])[np.maximum(r, 0)])
        got_t, got_r = rec.spikes_of(row)
        np.testing.assert_allclose(got_t, ms[keep] - starts_ms[r[keep]], atol=1e-9)
        np.testing.assert_array_equal(got_r, r[keep])
    assert rec.meta["n_spikes_outside_trials"] == 1  # unit9 at 9.99 s
    assert rec.trials.label_names == ("light", "sound") and rec.trials.label.tolist() == [1, 0, 1]
    assert "label" not in rec.trials.columns  # the TrialTable field, not a column too
    np.testing.assert_array_equal(rec.trials.columns["contrast"], [0.1, 0.5, 0.9])
    np.testing.assert_array_equal(rec.trials.columns["source_start_ms"], starts_ms)
    np.testing.assert_array_equal(rec.trials.columns["duration_ms"], [2000.0, 1000.0, 1000.0])
    assert rec.trial_duration_ms == 2000.0 and rec.meta["pynapple_version"] == nap.__version__
    with pytest.raises(ValueError, match=r"trials: expected every spike inside a trial window.*1 of 8 spikes"):
        from_pynapple(group, epochs)
    assert from_pynapple(group, epochs, label_column=None, outside="count").trials.label.tolist() == [-1] * 3
    by_contrast = from_pynapple(group, epochs, label_column="contrast", outside="count")
    assert by_contrast.trials.label_names == ("0.1", "0.5", "0.9")


def test_without_epochs_one_trial_spans_the_time_support():
    t, group, _ = _group()
    rec = from_pynapple(group)
    assert rec.n_trials == 1 and rec.n_spikes == 8 and rec.trial_duration_ms == 10001.0
    np.testing.assert_allclose(np.sort(rec.spikes_of("unit9")[0]), np.array(t[9]) * 1000.0)
    # a TsGroup built without a time support: pynapple's support ends on the last spike, which stays in
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bare = nap.TsGroup({0: nap.Ts(t=np.array([0.2, 3.5]))})
    rec = from_pynapple(bare)
    assert rec.n_spikes == 2 and rec.trials.columns["source_start_ms"].tolist() == [200.0]


def _labelled_record():
    rng = np.random.default_rng(3)
    n = 300
    units = UnitTable(name=["a", "b", "c", "d"], population=["V1", "V1", "LGN", "LGN"], layer=[-1] * 4,
                      cell_type=["E", "I", "unknown", "unknown"], index_in_population=[0, 1, 0, 1],
                      channel_id=[11, 12, 13, 14], columns={"depth": [1.0, 2.0, 3.0, 4.0], "tag": ["x", "y", "x", "z"]})
    trials = TrialTable(np.array([0, 1, 2, 1, -1, 0]), np.array([0, 1, 1, 1, -1, 2]),
                        np.array([30.0, 41.5, np.inf, 12.0, np.inf, 50.0]),
                        {"odour": np.array(["A", "B", "C", "B", "", "A"]),
                         "source_start_ms": np.array([0.0, 500.0, 1000.0, 1800.0, 2500.0, 3000.0])},
                        ("left", "right", "none"))
    return SpikeRecord(rng.uniform(0, 400.0, n), rng.integers(0, 4, n), rng.integers(0, 6, n), units, trials, 400.0,
                       {"source": "test"})


def test_round_trip_on_the_recordings_clock():
    rec = _labelled_record()
    group, epochs = to_pynapple(rec)
    # the source clock: trial r starts at source_start_ms[r]
    np.testing.assert_allclose(np.asarray(epochs.start), rec.trials.columns["source_start_ms"] / 1000.0)
    t, r = rec.spikes_of("b")
    np.testing.assert_allclose(group[1].t, np.sort((rec.trials.columns["source_start_ms"][r] + t) / 1000.0))
    assert group.metadata["name"].tolist() == ["a", "b", "c", "d"]
    back = from_pynapple(group, epochs)
    atol = 4 * np.spacing(3400.0)
    assert_records_equal(rec, back, atol=atol, meta=False)
    assert back.meta["n_spikes_outside_trials"] == 0


def test_round_trip_end_to_end_for_a_network_record_and_overlapping_source_clocks():
    rec, _ = sim_record(n_trials=6, seed=2)
    group, epochs = to_pynapple(rec)  # no source_start_ms: end to end with the default gap
    stride = rec.trial_duration_ms + max(1.0, 0.1 * rec.trial_duration_ms)
    np.testing.assert_allclose(np.asarray(epochs.start), np.arange(6) * stride / 1000.0)
    back = from_pynapple(group, epochs)
    assert "source_start_ms" in back.trials.columns  # the interval start on the end-to-end clock
    ref = SpikeRecord(rec.times_ms, rec.unit_index, rec.trial_index, rec.units,
                      TrialTable(rec.trials.label, rec.trials.prediction, rec.trials.decision_time_ms,
                                 {**rec.trials.columns, "source_start_ms": np.arange(6) * stride}, rec.trials.label_names),
                      rec.trial_duration_ms, rec.meta)
    assert_records_equal(ref, back, atol=4 * np.spacing(6 * stride), meta=False)
    # locust: every stimulus restarts its clock at 0 -> windows overlap on source_start_ms -> end to end,
    # the source clock kept as a column
    from synsem_ephys.adapters.spiketimes_text import load_locust

    loc = load_locust(ephys_dir() / "locust20010214", stimuli=["C3H_4", "Citral"], units=[1, 2, 3])
    with pytest.raises(ValueError, match="clock: expected increasing, non-overlapping trials"):
        to_pynapple(loc, clock="source")
    group, epochs = to_pynapple(loc)
    back = from_pynapple(group, epochs)
    assert_records_equal(loc, back, atol=4 * np.spacing(loc.n_trials * 33000.0), meta=False)


def test_registered_and_bad_input():
    assert CONVERTERS["pynapple"] == "pynapple:from_pynapple" and get_converter("pynapple") is from_pynapple
    _, group, epochs = _group()
    with pytest.raises(ValueError, match="tsgroup: expected a pynapple.TsGroup; got dict"):
        from_pynapple({0: [1.0]})
    with pytest.raises(ValueError, match="epochs: expected a pynapple.IntervalSet"):
        from_pynapple(group, [(0, 1)])
    with pytest.raises(ValueError, match="label_column: expected .* among \\['contrast', 'label'\\]; got 'odour'"):
        from_pynapple(group, epochs, label_column="odour", outside="count")
    with pytest.raises(ValueError, match="population_column: expected a TsGroup metadata column"):
        from_pynapple(group, epochs, population_column="area", outside="count")
    with pytest.raises(ValueError, match="record: expected a synsem_ephys.record.SpikeRecord"):
        to_pynapple(group)
    with pytest.raises(ValueError, match="clock: expected None, 'source' or 'end_to_end'"):
        to_pynapple(_labelled_record(), clock="wall")
    rec, _ = sim_record(n_trials=2)
    with pytest.raises(ValueError, match="clock: .*no trial column 'source_start_ms'"):
        to_pynapple(rec, clock="source")
