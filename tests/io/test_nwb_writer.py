"""A faithful NWB writer: the recording's own clock, the source file's metadata, Subject, Units resolution,
intervals written back; exact round trips (bit-exact for the simulator's records); nwbinspector's verdict.
"""

import datetime
import warnings

import numpy as np
import pytest

pynwb = pytest.importorskip("pynwb")

from helpers import assert_records_equal, canonical, ephys_dir, sim_record  # noqa: E402
from synsem_ephys.adapters.nwb import load_nwb  # noqa: E402
from synsem_ephys.io import read_nwb, write_nwb  # noqa: E402
from synsem_ephys.io.nwb import EXACT_TIME, EXACT_TRIAL  # noqa: E402
from synsem_ephys.io.layout import default_gap_ms, trial_offsets_ms  # noqa: E402
from synsem_ephys.record import SpikeRecord, TrialTable  # noqa: E402
from test_nwb_standard import make_file  # noqa: E402  (tests/io is on sys.path: pytest's prepend mode)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")

DANDI = ("sub-anm369963_ses-20170228.nwb", "sub-anm372793_ses-20170508.nwb")


def _open(path):
    io = pynwb.NWBHDF5IO(str(path), "r")
    return io, io.read()


@pytest.fixture(scope="module")
def std_path(tmp_path_factory):
    return make_file(tmp_path_factory.mktemp("nwbw") / "standard.nwb")


# ---------------------------------------------------------------------- the simulator's records
def test_simulator_record_roundtrip_is_bit_exact_even_on_the_decision_time(tmp_path):
    rec, layers = sim_record(n_trials=30, seed=5)
    dec = rec.trials.decision_time_ms
    on_decision = rec.times_ms == dec[rec.trial_index]  # the earliest output spike of each trial
    assert on_decision.sum() >= 20
    path = write_nwb(rec, tmp_path / "sim.nwb")
    back = read_nwb(path)
    assert_records_equal(rec, back)  # rtol = atol = 0, meta included
    for a, b in zip(canonical(rec), canonical(back)):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    np.testing.assert_array_equal(back.first_spike_matrix(), rec.first_spike_matrix())
    before = lambda r: np.bincount(r.trial_index[r.times_ms < r.trials.decision_time_ms[r.trial_index]],  # noqa: E731
                                   minlength=r.n_trials)
    np.testing.assert_array_equal(before(back), before(rec))  # pre-decision activity unchanged
    # what the file holds for other tools: trials end to end on the session clock, units' spike times there
    io, nwb = _open(path)
    offsets = trial_offsets_ms(rec.n_trials, rec.trial_duration_ms, default_gap_ms(rec.trial_duration_ms))
    np.testing.assert_array_equal(nwb.trials.start_time.data[:], offsets / 1000.0)
    np.testing.assert_array_equal(nwb.trials["label"].data[:], rec.trials.label)
    u = 10  # a hidden unit
    sel = rec.unit_index == u
    np.testing.assert_array_equal(nwb.units.get_unit_spike_times(u),
                                  np.sort((offsets[rec.trial_index[sel]] + rec.times_ms[sel]) / 1000.0))
    assert nwb.units.resolution == np.spacing(nwb.units.spike_times.data[:].max())
    assert {EXACT_TRIAL, EXACT_TIME, "unit_name", "population", "cell_type"} <= set(nwb.units.colnames)
    io.close()
    # the same file read as anyone else's file (trials from its trials table): the seconds clock is off by ulps
    generic = read_nwb(path, trials="trials")
    assert generic.n_spikes == rec.n_spikes
    np.testing.assert_allclose(canonical(generic)[0], canonical(rec)[0], rtol=0, atol=1e-9)


def test_records_on_overlapping_source_clocks_are_written_end_to_end(tmp_path):
    rec, _ = sim_record(n_trials=4, seed=1)
    cols = dict(rec.trials.columns, source_start_ms=np.array([0.0, 30_000.0, 0.0, 30_000.0]))  # two files' clocks
    rec = SpikeRecord(rec.times_ms, rec.unit_index, rec.trial_index, rec.units,
                      TrialTable(rec.trials.label, rec.trials.prediction, rec.trials.decision_time_ms, cols,
                                 rec.trials.label_names), rec.trial_duration_ms, rec.meta)
    path = write_nwb(rec, tmp_path / "auto.nwb")
    io, nwb = _open(path)
    assert np.all(np.diff(nwb.trials.start_time.data[:]) > 0) and "end_to_end" in nwb.notes
    io.close()
    assert_records_equal(rec, read_nwb(path))
    forced = write_nwb(rec, tmp_path / "src.nwb", clock="source")  # overlapping trials are legal NWB
    io, nwb = _open(forced)
    np.testing.assert_array_equal(nwb.trials.start_time.data[:], [0.0, 30.0, 0.0, 30.0])
    io.close()
    assert_records_equal(rec, read_nwb(forced))
    plain, _ = sim_record(n_trials=2)
    with pytest.raises(ValueError, match="clock: expected a record with a finite trial column 'source_start_ms'"):
        write_nwb(plain, tmp_path / "x.nwb", clock="source")
    with pytest.raises(ValueError, match="clock: expected None, 'source' or 'end_to_end'; got 'wall'"):
        write_nwb(plain, tmp_path / "x.nwb", clock="wall")


# ---------------------------------------------------------------------- real recordings
@pytest.mark.parametrize("fname", DANDI)
def test_dandi_source_to_record_to_nwb_to_record_is_exact(fname, tmp_path):
    src = ephys_dir() / "dandi000006" / fname
    rec = load_nwb(src)
    out = write_nwb(rec, tmp_path / "out.nwb", resolution_s=1e-6)
    back = read_nwb(out)
    assert_records_equal(rec, back)
    assert_records_equal(back, read_nwb(write_nwb(back, tmp_path / "again.nwb")))
    sio, s = _open(src)
    oio, o = _open(out)
    for f in ("identifier", "session_description", "session_start_time", "timestamps_reference_time",
              "experiment_description", "institution", "related_publications", "experimenter"):
        assert getattr(o, f) == getattr(s, f), f
    assert list(o.keywords[:]) == list(s.keywords[:])
    assert (o.subject.subject_id, o.subject.species, o.subject.sex) == (s.subject.subject_id, s.subject.species, "U")
    # the recording's own clock: trial starts as in the source, stops filled (NaN there: the next start)
    starts = s.trials.start_time.data[:]
    np.testing.assert_array_equal(o.trials.start_time.data[:], starts)
    np.testing.assert_array_equal(o.trials.stop_time.data[:-1], starts[1:])
    assert o.trials["stim_present"].description == s.trials["stim_present"].description
    assert o.trials["type"].data[:].tolist() == s.trials["type"].data[:].tolist()
    # spike times: those inside a trial, within one ulp of the source's (seconds -> ms -> seconds)
    src_t = np.sort(s.units.spike_times.data[:])
    out_t = o.units.spike_times.data[:]
    assert out_t.size == src_t.size - rec.meta["n_spikes_outside_trials"]
    near = src_t[np.abs(src_t[:, None] - out_t[None, :]).argmin(axis=0)]
    assert np.all(np.abs(near - out_t) <= np.spacing(out_t))
    assert o.units.resolution == 1e-6
    licks = o.events["lick_left_times"]["timestamp"].data[:]
    assert np.all(np.diff(licks) >= 0)  # sorted (the source's are not)
    src_licks = s.acquisition["lick_times"]["lick_left_times"].timestamps[:]
    assert licks.size == src_licks.size - rec.meta["n_events_outside_trials"].get("lick_left_times", 0)
    assert o.trials.description == s.trials.description and o.units["depth"].description == "depth this unit (um)"
    sio.close()
    oio.close()


def test_intervals_are_written_back_where_they_came_from(std_path, tmp_path):
    io, std = _open(std_path)
    cases = {"epochs": dict(trials="epochs", label_column="tags"), "stim_blocks": dict(trials="stim_blocks"),
             "ripples_windows": dict(align="ripples", window_ms=(100.0, 400.0)),
             "trials": dict(label_column="stim")}
    for name, options in cases.items():
        rec = read_nwb(std, population_column="electrode_group", **options)
        path = write_nwb(rec, tmp_path / f"{name}.nwb")
        assert_records_equal(rec, read_nwb(path))
        oio, o = _open(path)
        assert set(o.intervals) == {name}, name
        table = o.intervals[name]
        np.testing.assert_array_equal(table.start_time.data[:] * 1000.0, rec.trials.columns["source_start_ms"])
        assert o.units["electrode_group_name"].data[:].tolist() == rec.units.columns["electrode_group"].tolist()
        if name == "ripples_windows":  # windows overlap: each spike once in the Units table, twice in the record
            assert rec.meta["n_spikes_in_several_trials"] > 0
            n_file = o.units.spike_times.data.shape[0]
            assert n_file == rec.n_spikes - rec.meta["n_spikes_in_several_trials"]
            for u in range(rec.n_units):
                t = o.units.get_unit_spike_times(u)
                assert np.all(np.diff(t) > 0)
        oio.close()
    io.close()


# ---------------------------------------------------------------------- arguments
def test_subject_file_fields_and_identity(tmp_path):
    from pynwb.file import Subject

    rec, _ = sim_record(n_trials=3)
    start = datetime.datetime(2024, 5, 6, 7, 8, 9)
    path = write_nwb(rec, tmp_path / "a.nwb", subject={"subject_id": "net-5", "description": "simulated network",
                                                       "date_of_birth": "2024-05-01T00:00:00+00:00"},
                     session_start_time=start, identifier="run-5", session_description="a simulated session",
                     experimenter=["Doe, Jane"], keywords=["spiking network"])
    io, nwb = _open(path)
    assert nwb.subject.subject_id == "net-5" and nwb.subject.date_of_birth.year == 2024
    assert nwb.session_start_time == start.replace(tzinfo=datetime.timezone.utc)
    assert (nwb.identifier, nwb.session_description, list(nwb.keywords[:])) == ("run-5", "a simulated session",
                                                                                 ["spiking network"])
    io.close()
    path = write_nwb(rec, tmp_path / "b.nwb", subject=Subject(subject_id="s", species="Mus musculus", sex="M"))
    io, nwb = _open(path)
    assert nwb.subject.species == "Mus musculus" and nwb.identifier != "run-5"
    io.close()
    for bad, match in (("mouse", "subject: expected a pynwb.file.Subject or a dict"),
                       ({"subject_id": "x", "colour": "brown"}, r"subject: expected arguments of pynwb.file.Subject")):
        with pytest.raises(ValueError, match=match):
            write_nwb(rec, tmp_path / "c.nwb", subject=bad)
    with pytest.raises(ValueError, match=r"file_fields: expected NWBFile fields among .*\['lab_name'\]"):
        write_nwb(rec, tmp_path / "c.nwb", lab_name="x")
    with pytest.raises(ValueError, match="resolution_s: expected a finite float > 0"):
        write_nwb(rec, tmp_path / "c.nwb", resolution_s=-1.0)
    assert not (tmp_path / "c.nwb").exists()


# ---------------------------------------------------------------------- nwbinspector
def _inspect(path):
    inspector = pytest.importorskip("nwbinspector", reason="nwbinspector is not installed (pip install nwbinspector)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [(m.importance.name, m.check_function_name) for m in inspector.inspect_nwbfile(nwbfile_path=str(path))]


SEVERE = ("CRITICAL", "BEST_PRACTICE_VIOLATION", "PYNWB_VALIDATION", "ERROR")


def test_nwbinspector_on_a_file_written_from_a_real_recording(tmp_path):
    src = ephys_dir() / "dandi000006" / DANDI[0]
    rec = load_nwb(src)
    io, s = _open(src)
    spikes_us = s.units.spike_times.data[:] * 1e6
    io.close()
    assert np.abs(spikes_us - np.round(spikes_us)).max() < 1e-3  # the file's spike times are whole microseconds
    as_is = _inspect(write_nwb(rec, tmp_path / "as_is.nwb"))
    # what the source itself lacks (no subject age, no Units resolution) is all that is severe
    assert sorted(m for m in as_is if m[0] in SEVERE) == [("BEST_PRACTICE_VIOLATION", "check_units_resolution_is_set"),
                                                         ("CRITICAL", "check_subject_age")]
    # given them (the age as the open range 'P0D/': the file says nothing more), nothing severe remains
    completed = write_nwb(rec, tmp_path / "completed.nwb", resolution_s=1e-6, subject={**rec.meta["subject"], "age": "P0D/"})
    assert [m for m in _inspect(completed) if m[0] in SEVERE] == []


def test_nwbinspector_on_a_file_written_from_a_simulated_record(tmp_path):
    rec, _ = sim_record(n_trials=10)
    path = write_nwb(rec, tmp_path / "sim.nwb", subject={"subject_id": "synsem-net-seed0",
                                                         "description": "a simulated spiking network, no animal"})
    severe = sorted(m for m in _inspect(path) if m[0] in SEVERE)
    # a network has no species, sex or age: that cannot honestly be filled, everything else is clean
    assert severe == [("BEST_PRACTICE_VIOLATION", "check_subject_species_exists"), ("CRITICAL", "check_subject_age"),
                      ("CRITICAL", "check_subject_sex")]
