"""SpikeRecord <-> neo.Block per the layout contract; NIX / NWB round trips; atomic writes; bad files."""

import os

import neo
import numpy as np
import pytest
import quantities as pq
from hypothesis import given, settings
from hypothesis import strategies as st
from neo.test.tools import assert_neo_object_is_compliant

from helpers import assert_records_equal, block_atol, sim_record
from synsem_ephys.errors import DataFormatError, DataMissingError
from synsem_ephys.io import (LAYOUT, from_block, read_nix, read_nix_record, read_nwb, to_block, trial_view,
                                 write_nix, write_nwb)
from synsem_ephys.record import EventTimes, SpikeRecord, TrialTable, UnitTable


@pytest.fixture(scope="module")
def rec():
    r, _ = sim_record(n_trials=6, seed=2)
    # a fully silent unit must keep its (empty) SpikeTrain
    keep = r.unit_index != 3
    return SpikeRecord(r.times_ms[keep], r.unit_index[keep], r.trial_index[keep], r.units, r.trials,
                       r.trial_duration_ms, r.meta)


@pytest.fixture(scope="module")
def block(rec):
    return to_block(rec, gap_ms=5.0)


def test_block_follows_the_contract(rec, block):
    assert_neo_object_is_compliant(block)
    assert len(block.segments) == 1
    seg = block.segments[0]
    assert [st.name for st in seg.spiketrains] == rec.units.name.tolist()
    assert len(seg.spiketrains[3]) == 0
    stride = rec.trial_duration_ms + 5.0
    for st in seg.spiketrains:
        assert st.units == pq.ms and float(st.t_start) == 0.0 and float(st.t_stop) == rec.n_trials * stride
        assert set(st.annotations) >= {"source_population", "source_index", "channel_id", "layer", "cell_type"}
        assert st.array_annotations["trial"].shape == (len(st),)
    st = seg.spiketrains[7]
    assert (st.annotations["source_population"], st.annotations["cell_type"], st.annotations["layer"]) == ("hidden1_E", "E", 1)
    ep = next(e for e in seg.epochs if e.name == "trials")
    np.testing.assert_array_equal(ep.times.magnitude, np.arange(rec.n_trials) * stride)
    np.testing.assert_array_equal(ep.array_annotations["label"], rec.trials.label)
    np.testing.assert_array_equal(ep.array_annotations["prediction"], rec.trials.prediction)
    assert list(ep.labels) == [str(v) for v in rec.trials.label]
    onset = next(e for e in seg.events if e.name == "stimulus_onset")
    np.testing.assert_array_equal(onset.times.magnitude, ep.times.magnitude)
    assert [g.name for g in block.groups] == list(dict.fromkeys(rec.units.population.tolist()))
    assert sum(len(g.spiketrains) for g in block.groups) == rec.n_units
    ann = block.annotations
    assert ann["synsem_layout"] == LAYOUT and ann["seed"] == 2 and "spec_json" in ann and ann["synsem_ephys_version"]
    # every spike sits strictly inside its trial's epoch, never on a boundary
    for st in seg.spiketrains:
        r = st.array_annotations["trial"]
        rel = st.magnitude - ep.times.magnitude[r]
        assert np.all((rel >= 0) & (rel < rec.trial_duration_ms))


def test_block_roundtrip(rec, block):
    back = from_block(block)
    assert_records_equal(rec, back, atol=block_atol(rec, 5.0))


def test_nix_roundtrip_keeps_everything(tmp_path, rec, block):
    path = write_nix(block, tmp_path / "run.nix")
    assert path.exists() and not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    b2 = read_nix(path)
    assert_neo_object_is_compliant(b2)
    for a, b in zip(block.segments[0].spiketrains, b2.segments[0].spiketrains):
        np.testing.assert_array_equal(a.magnitude, b.magnitude)  # bit-exact in the file
        np.testing.assert_array_equal(a.array_annotations["trial"], b.array_annotations["trial"])
        assert {k: a.annotations[k] for k in a.annotations} == {k: b.annotations[k] for k in a.annotations}
    assert [g.name for g in b2.groups] == [g.name for g in block.groups]
    assert_records_equal(from_block(block), read_nix_record(path))


def test_nix_and_nwb_roundtrip_of_rich_record(tmp_path):
    units = UnitTable(["a", "b", "c"], ["V1", "V1", "LGN"], [-1, -1, -1], ["E", "I", "unknown"], [0, 1, 0], [4, 5, 9],
                      columns={"depth_um": [10.0, 20.0, 30.0], "quality": ["good", "mua", "good"]})
    trials = TrialTable([1, 0, -1], [1, 1, -1], [3.5, np.inf, np.inf], label_names=("left", "right"),
                        columns={"stimulus": ["x", "y", "z"], "contrast": [0.1, 0.5, 1.0], "stimulus_onset_ms": [1.0, np.nan, 2.0],
                                 "duration_ms": [40.0, 25.0, 40.0]})
    rec = SpikeRecord([0.0, 39.5, 24.9, 0.1, 7.0], [0, 0, 2, 1, 0], [0, 0, 1, 2, 2], units, trials, 40.0,
                      {"source": "hand", "seed": 7, "note": [1, 2]}, {"lick": EventTimes([3.0, 20.0], [0, 1])})
    for write, read in ((write_nix, read_nix_record), (write_nwb, read_nwb)):
        path = write(rec, tmp_path / f"rich.{write.__name__[-3:]}")
        assert_records_equal(rec, read(path), atol=block_atol(rec), rtol=1e-15)
    block = to_block(rec)
    assert_neo_object_is_compliant(block)
    onset = next(e for e in block.segments[0].events if e.name == "stimulus_onset")
    np.testing.assert_array_equal(onset.array_annotations["trial"], [0, 2])
    assert list(block.segments[0].epochs[0].labels) == ["right", "left", ""]
    np.testing.assert_array_equal(block.segments[0].epochs[0].durations.magnitude, [40.0, 25.0, 40.0])


def test_nwb_roundtrip_of_sim_record(tmp_path, rec):
    path = write_nwb(rec, tmp_path / "run.nwb")
    assert_records_equal(rec, read_nwb(path), atol=block_atol(rec), rtol=1e-15)


def test_trial_view_is_lazy_and_trial_relative(rec, block):
    view = trial_view(block, trials=[4, 1])
    assert len(view) == 2 and view._cache == {}
    trial = view[0]
    assert list(view._cache) == [0]  # only the trial asked for was built
    assert len(trial) == rec.n_units
    for u, st in enumerate(trial):
        np.testing.assert_allclose(st.magnitude, np.sort(rec.times_ms[(rec.unit_index == u) & (rec.trial_index == 4)]),
                                   atol=block_atol(rec, 5.0))
        assert float(st.t_stop) == rec.trial_duration_ms and st.annotations["trial"] == 4
    assert view[0] is trial and view[-1][0].annotations["trial"] == 1
    sub = trial_view(rec, trials=[0], units=[7, 8])
    assert [st.name for st in sub[0]] == ["hidden1_E_1", "hidden1_E_2"]
    with pytest.raises(ValueError, match=r"trials: expected indices in \[0, 6\)"):
        trial_view(rec, trials=[6])
    with pytest.raises(IndexError):
        view[2]


def test_atomic_write_leaves_old_file_on_failure(tmp_path, rec):
    path = tmp_path / "x.nix"
    path.write_bytes(b"old")
    bad = SpikeRecord(rec.times_ms, rec.unit_index, rec.trial_index, rec.units, rec.trials, rec.trial_duration_ms,
                      {"unserialisable": object()})
    with pytest.raises(ValueError, match="record.meta: expected a JSON-serialisable dict"):
        write_nix(bad, path)
    with pytest.raises(ValueError):
        write_nwb(bad, tmp_path / "x.nwb")
    assert path.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["x.nix"]
    with pytest.raises(DataMissingError, match="path"):
        write_nix(rec, tmp_path / "no_such_dir" / "x.nix")


def test_bad_files_give_clear_errors(tmp_path, rec, block):
    with pytest.raises(DataMissingError, match="missing.nix"):
        read_nix(tmp_path / "missing.nix")
    fake = tmp_path / "fake.nix"
    fake.write_text("this is not an HDF5 file\n")
    with pytest.raises(DataFormatError, match="path: expected a NIX"):
        read_nix(fake)
    good = write_nix(block, tmp_path / "good.nix")
    cut = tmp_path / "cut.nix"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    with pytest.raises(DataFormatError, match="cut.nix"):
        read_nix(cut)
    nwb = write_nwb(rec, tmp_path / "good.nwb")
    cut = tmp_path / "cut.nwb"
    cut.write_bytes(nwb.read_bytes()[:4096])
    with pytest.raises(DataFormatError, match="path: expected an NWB"):
        read_nwb(cut)
    with pytest.raises(DataFormatError, match="expected an NWB"):
        read_nwb(good)  # a NIX file is HDF5 but not NWB


def _canonical_block(trains, n_trials=2, dur=10.0):
    b = neo.Block(synsem_layout=LAYOUT, trial_duration_ms=dur)
    seg = neo.Segment()
    b.segments.append(seg)
    seg.spiketrains.extend(trains)
    seg.epochs.append(neo.Epoch(times=np.arange(n_trials) * (dur + 1.0) * pq.ms, durations=np.full(n_trials, dur) * pq.ms,
                                labels=np.array(["a"] * n_trials), name="trials"))
    return b


def test_from_block_rejects_inconsistent_blocks():
    ok = neo.SpikeTrain([1.0, 12.0], units="ms", t_stop=22.0, name="u0")
    with pytest.raises(DataFormatError, match=r"spiketrain 1 \('u1'\): expected t_start 0.0 ms and t_stop 22.0 ms"):
        from_block(_canonical_block([ok, neo.SpikeTrain([1.0], units="ms", t_stop=30.0, name="u1")]))
    # trains in seconds are converted, not misread; no trial annotation -> assigned by epoch
    sec = neo.SpikeTrain([0.0015, 0.0125], units="s", t_stop=0.022, name="u1")
    back = from_block(_canonical_block([ok, sec]))
    np.testing.assert_allclose(back.spikes_of(1)[0], [1.5, 1.5], atol=1e-12)
    np.testing.assert_array_equal(back.spikes_of(1)[1], [0, 1])
    late = neo.SpikeTrain([1.0, 10.5], units="ms", t_stop=22.0, name="u0")  # in the gap after trial 0
    with pytest.raises(DataFormatError, match="spikes inside their trial"):
        from_block(_canonical_block([late]))
    with pytest.raises(DataFormatError, match="block: expected at least one Segment"):  # any other layout: one Segment per trial
        from_block(neo.Block())
    with pytest.raises(ValueError, match="block: expected a neo.Block"):
        from_block("block.nix")


def test_fast_nix_writer_matches_plain_neo_writer(tmp_path, block):
    from neo.io import NixIO

    with NixIO(str(tmp_path / "plain.nix"), mode="ow") as io:
        io.write_block(block)
    ours = read_nix(write_nix(block, tmp_path / "ours.nix"))
    plain = read_nix(tmp_path / "plain.nix")
    for a, b in zip(plain.segments[0].spiketrains, ours.segments[0].spiketrains):
        np.testing.assert_array_equal(a.magnitude, b.magnitude)
        np.testing.assert_array_equal(a.array_annotations["trial"], b.array_annotations["trial"])
        assert a.array_annotations["trial"].dtype == b.array_annotations["trial"].dtype
    ea, eb = plain.segments[0].epochs[0], ours.segments[0].epochs[0]
    for k in ea.array_annotations:
        np.testing.assert_array_equal(ea.array_annotations[k], eb.array_annotations[k])


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 5), st.integers(1, 4), st.floats(0.5, 1e4))
def test_block_roundtrip_property(seed, n_units, n_trials, dur):
    """Any record survives to_block/from_block: units, trials exact; times to the stated ulp bound."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 30))
    rec = SpikeRecord(rng.random(n) * dur * 0.999, rng.integers(0, n_units, n), rng.integers(0, n_trials, n),
                      UnitTable.simple(n_units), TrialTable(rng.integers(-1, 3, n_trials)), dur)
    block = to_block(rec)
    assert_neo_object_is_compliant(block)
    assert_records_equal(rec, from_block(block), atol=block_atol(rec))


def test_silent_record_roundtrips(tmp_path):
    rec = SpikeRecord([], [], [], UnitTable.simple(3), TrialTable([0, 1]), 5.0, {"source": "silent"})
    block = to_block(rec)
    assert_neo_object_is_compliant(block)
    assert all(len(st) == 0 for st in block.segments[0].spiketrains)
    assert_records_equal(rec, from_block(block))
    assert_records_equal(rec, read_nix_record(write_nix(rec, tmp_path / "s.nix")))
    assert_records_equal(rec, read_nwb(write_nwb(rec, tmp_path / "s.nwb")))


def test_trial_relative_times_round_trip_bit_exactly_through_block_and_nix(tmp_path):
    """Times that offset + t - offset does not give back (and spikes exactly on a decision time) stay exact."""
    from synsem_ephys.analysis import activity_matrix
    from synsem_ephys.io import trial_offsets_ms
    from synsem_ephys.record import SpikeRecord, TrialTable, UnitTable

    n_trials, dur = 400, 100.3
    rng = np.random.default_rng(5)
    t = rng.uniform(0, dur, (n_trials, 2))
    dec = t[:, 0].copy()                                   # unit 0 fires exactly at the decision time
    rec = SpikeRecord(t.ravel(), np.tile([0, 1], n_trials), np.repeat(np.arange(n_trials), 2), UnitTable.simple(2),
                      TrialTable(np.zeros(n_trials, int), decision_time_ms=dec), dur)
    offsets = trial_offsets_ms(n_trials, dur, max(1.0, 0.1 * dur))
    naive = (offsets[rec.trial_index] + rec.times_ms) - offsets[rec.trial_index]
    assert np.any(naive != rec.times_ms)                   # the arithmetic alone is not exact here
    for back in (from_block(to_block(rec)), read_nix_record(write_nix(rec, tmp_path / "exact.nix"))):
        o1, o2 = rec.order_by_unit(), back.order_by_unit()
        assert np.array_equal(back.times_ms[o2], rec.times_ms[o1])
        assert np.array_equal(activity_matrix(back, "decision"), activity_matrix(rec, "decision"))
        assert np.array_equal(activity_matrix(back, "before_decision"), activity_matrix(rec, "before_decision"))
