"""SpikeInterface sortings -> SpikeRecord, on NumpySorting / generate_sorting objects built here.

Skips with the reason when spikeinterface is not installed (``pip install spikeinterface``, the core package).
"""

import numpy as np
import pytest

from synsem_ephys.adapters import CONVERTERS, get_converter
from synsem_ephys.io import from_block, to_block

si = pytest.importorskip("spikeinterface.core",
                         reason="spikeinterface is not installed (pip install spikeinterface): the adapter is optional")

from synsem_ephys.adapters.spikeinterface import from_sorting  # noqa: E402

FS = 30000.0


def _sorting():
    """Two segments, units 'a', 'b', 'c' (c silent in segment 1), properties of several kinds."""
    seg0 = {"a": np.array([10, 300, 29999]), "b": np.array([5, 7, 15000]), "c": np.array([45000])}
    seg1 = {"a": np.array([0, 6000]), "b": np.array([1200]), "c": np.array([], dtype=np.int64)}
    sorting = si.NumpySorting.from_unit_dict([seg0, seg1], sampling_frequency=FS)
    sorting.set_property("quality", np.array(["good", "mua", "good"]))
    sorting.set_property("snr", np.array([5.5, 1.2, 3.0]))
    sorting.set_property("shank", np.array([0, 0, 1]))
    sorting.set_property("location", np.zeros((3, 2)))
    return sorting, (seg0, seg1)


def conformance_record():
    """A generated two-segment sorting as a record (for the conformance suite's SOURCES)."""
    return from_sorting(si.generate_sorting(num_units=5, durations=[1.0, 0.8], seed=3))


def test_units_samples_and_segments_become_units_times_and_trials():
    sorting, segs = _sorting()
    rec = from_sorting(sorting, trial_labels=["odour", "blank"])
    assert rec.units.name.tolist() == ["a", "b", "c"] and rec.units.channel_id.tolist() == [0, 1, 2]
    assert rec.units.columns["quality"].tolist() == ["good", "mua", "good"]
    np.testing.assert_array_equal(rec.units.columns["snr"], [5.5, 1.2, 3.0])
    assert "location" not in rec.units.columns and "shape (3, 2)" in rec.meta["skipped_unit_columns"]["location"]
    assert rec.n_trials == 2 and rec.trials.columns["segment"].tolist() == [0, 1]
    assert rec.trials.label_names == ("blank", "odour") and rec.trials.label.tolist() == [1, 0]
    for row, u in enumerate("abc"):
        t, r = rec.spikes_of(row)
        expect_t = np.concatenate([segs[0][u], segs[1][u]]) * (1000.0 / FS)
        np.testing.assert_allclose(t, expect_t, rtol=1e-15)
        np.testing.assert_array_equal(r, [0] * len(segs[0][u]) + [1] * len(segs[1][u]))
    # no recording registered: each segment ends at the whole ms after its latest spike
    np.testing.assert_array_equal(rec.trials.columns["duration_ms"], [1501.0, 201.0])
    assert rec.meta["sampling_frequency_hz"] == FS and rec.meta["n_segments"] == 2
    assert rec.meta["spikeinterface_version"] and rec.meta["n_spikes_outside_trials"] == 0
    grouped = from_sorting(sorting, population_column="quality")
    assert grouped.units.population.tolist() == ["good", "mua", "good"] and "quality" not in grouped.units.columns
    assert from_block(to_block(rec)).n_spikes == rec.n_spikes


def test_generated_sorting_with_a_recording_uses_the_segment_lengths():
    sorting = si.generate_sorting(num_units=4, durations=[2.0, 1.5], firing_rates=20.0, seed=0)
    recording = si.generate_recording(num_channels=2, durations=[2.0, 1.5], sampling_frequency=sorting.sampling_frequency,
                                      seed=0)
    sorting.register_recording(recording)
    rec = from_sorting(sorting)
    np.testing.assert_allclose(rec.trials.columns["duration_ms"], [2000.0, 1500.0])
    n = sum(sorting.count_num_spikes_per_unit().values())
    assert rec.n_spikes == n
    for row, uid in enumerate(sorting.get_unit_ids()):
        for seg in range(2):
            frames = sorting.get_unit_spike_train(uid, segment_index=seg)
            t = rec.times_ms[(rec.unit_index == row) & (rec.trial_index == seg)]
            np.testing.assert_allclose(np.sort(t), np.sort(frames) * 1000.0 / sorting.sampling_frequency, rtol=1e-15)
    # one rate per unit, as SpikeInterface counts: spikes / duration
    rates = np.bincount(rec.unit_index, minlength=4) / 3.5
    np.testing.assert_allclose(rates, [sorting.count_num_spikes_per_unit()[u] / 3.5 for u in sorting.get_unit_ids()])


def test_one_segment_cut_into_trials():
    seg = {"1": np.array([300, 3300, 6000, 9100]), "7": np.array([50, 8999])}
    sorting = si.NumpySorting.from_unit_dict([seg], sampling_frequency=3000.0)  # 3 samples per ms
    rec = from_sorting(sorting, segment_trials=False, trials=[0.0, 1000.0, 2000.0], trial_duration_ms=500.0,
                       outside="count")
    # by hand: unit '1' at 100, 1100, 2000, 3033.3 ms; unit '7' at 16.7, 2999.7 ms; windows [k s, k s + 0.5 s)
    assert rec.units.channel_id.tolist() == [1, 7]
    np.testing.assert_allclose(rec.spikes_of("1")[0], [100.0, 100.0, 0.0])
    np.testing.assert_array_equal(rec.spikes_of("1")[1], [0, 1, 2])
    np.testing.assert_allclose(rec.spikes_of("7")[0], [50.0 / 3.0])
    assert rec.meta["n_spikes_outside_trials"] == 2
    with pytest.raises(ValueError, match="trials: expected every spike inside a trial window.*2 of 6 spikes"):
        from_sorting(sorting, segment_trials=False, trials=[0.0, 1000.0, 2000.0], trial_duration_ms=500.0)
    whole = from_sorting(sorting, segment_trials=False)
    assert whole.n_trials == 1 and whole.n_spikes == 6 and whole.trial_duration_ms == np.floor(9100 / 3.0) + 1


def test_registered_and_bad_input():
    assert CONVERTERS["spikeinterface"] == "spikeinterface:from_sorting"
    assert get_converter("spikeinterface") is from_sorting
    sorting, _ = _sorting()
    with pytest.raises(ValueError, match="sorting: expected a spikeinterface BaseSorting .*; got dict"):
        from_sorting({"a": [1, 2]})
    with pytest.raises(ValueError, match="trials: expected None with segment_trials=True"):
        from_sorting(sorting, trials=[0.0])
    with pytest.raises(ValueError, match="segment_trials: expected True for a sorting of several segments"):
        from_sorting(sorting, segment_trials=False)
    with pytest.raises(ValueError, match="population_column: expected a unit property among"):
        from_sorting(sorting, population_column="area")
    with pytest.raises(ValueError, match="trial_labels: expected one label .* per trial, 2 values"):
        from_sorting(sorting, trial_labels=["x"])
    with pytest.raises(ValueError, match="trials: expected every spike inside.*segment 0"):
        from_sorting(sorting, trial_duration_ms=100.0)
