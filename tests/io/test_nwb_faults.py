"""NWB files under faults: empty records write and read back, a damaged recording is a DataFormatError naming
the file (checksum of files of ours, foreign library errors wrapped), an error in an argument stays an error
about that argument. (Full disk and the fuzz of the reader: tests/faults.)"""

import warnings

import numpy as np
import pytest

pytest.importorskip("pynwb")

from helpers import assert_records_equal, sim_record  # noqa: E402
from synsem_ephys.errors import DataFormatError  # noqa: E402
from synsem_ephys.io import read_nix_record, read_nwb, write_nix, write_nwb  # noqa: E402
from synsem_ephys.io.layout import PAYLOAD_CHECKSUM, record_checksum  # noqa: E402
from synsem_ephys.io.nwb import EXACT_TIME  # noqa: E402
from synsem_ephys.record import SpikeRecord, TrialTable, UnitTable  # noqa: E402


def _write(rec, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_nwb(rec, path)
    return path


EMPTY = {
    "no_units": lambda: SpikeRecord([], [], [], UnitTable.simple(0), TrialTable(np.array([0, 1, 0])), 100.0),
    "no_trials": lambda: SpikeRecord([], [], [], UnitTable.simple(4), TrialTable(np.zeros(0, int)), 100.0),
    "no_spikes": lambda: SpikeRecord([], [], [], UnitTable.simple(4), TrialTable(np.zeros(2, int)), 50.0),
}


@pytest.mark.parametrize("kind", sorted(EMPTY))
def test_empty_records_write_and_read_back(kind, tmp_path):
    rec = EMPTY[kind]()
    assert_records_equal(rec, read_nwb(_write(rec, tmp_path / "r.nwb")))
    write_nix(rec, tmp_path / "r.nix")
    assert_records_equal(rec, read_nix_record(tmp_path / "r.nix"))


def test_checksum_ignores_spike_order_and_dtypes_but_not_values():
    rec, _ = sim_record(n_trials=3)
    o = np.argsort(rec.times_ms)[::-1]
    shuffled = SpikeRecord(rec.times_ms[o], rec.unit_index[o].astype(np.int32), rec.trial_index[o], rec.units,
                           rec.trials, rec.trial_duration_ms, rec.meta, rec.events)
    assert record_checksum(shuffled) == record_checksum(rec)
    t = rec.times_ms.copy()
    t[0] = np.nextafter(t[0], np.inf)  # one ulp
    moved = SpikeRecord(t, rec.unit_index, rec.trial_index, rec.units, rec.trials, rec.trial_duration_ms)
    assert record_checksum(moved) != record_checksum(rec)


def test_a_changed_spike_time_in_a_file_of_ours_is_detected(tmp_path):
    import h5py

    rec, _ = sim_record(n_trials=3)
    path = _write(rec, tmp_path / "r.nwb")
    with h5py.File(path, "r") as f:
        assert PAYLOAD_CHECKSUM in f["general/notes"][()].decode()
    with h5py.File(path, "r+") as f:
        data = f[f"units/{EXACT_TIME}"]
        data[0] = data[0] + 1e-9  # what a flipped low mantissa bit does: HDF5 itself keeps no checksum
    with pytest.raises(DataFormatError, match="checksum") as info:
        read_nwb(path)
    assert str(path) in str(info.value)


def test_an_inconsistent_table_is_a_data_format_error_naming_the_file(tmp_path):
    import h5py

    rec, _ = sim_record(n_trials=3)
    path = _write(rec, tmp_path / "r.nwb")
    with h5py.File(path, "r+") as f:  # the ends of the ragged spike times no longer rise
        index = f["units/spike_times_index"]
        index[0], index[-1] = index[-1], 0
    with pytest.raises(DataFormatError) as info:
        read_nwb(path, trials="trials")  # the general reader (not the exact columns of ours)
    assert str(path) in str(info.value)


def test_an_argument_error_stays_about_the_argument(tmp_path):
    from test_nwb_standard import make_file  # tests/io is on sys.path (pytest's prepend mode)

    path = tmp_path / "std.nwb"
    make_file(path)
    with pytest.raises(ValueError, match="^population_column:") as info:
        read_nwb(path, population_column="no_such_column")
    assert not isinstance(info.value, DataFormatError)


def test_reading_a_subset_skips_the_checksum_and_a_window_keeps_the_source_clock(tmp_path):
    rec, _ = sim_record(n_trials=3)
    starts = np.array([0.0, 1000.0, 5000.0])
    rec = SpikeRecord(rec.times_ms, rec.unit_index, rec.trial_index, rec.units,
                      TrialTable(rec.trials.label, columns={"source_start_ms": starts}), rec.trial_duration_ms, rec.meta)
    path = _write(rec, tmp_path / "r.nwb")
    assert read_nwb(path, events=False).n_spikes == rec.n_spikes  # a subset of the events: no checksum to compare
    win = rec.window(5.0, 20.0)
    np.testing.assert_array_equal(win.trials.columns["source_start_ms"], starts + 5.0)
    back = read_nwb(_write(win, tmp_path / "w.nwb"), trials="trials")  # the general reader, on the file's clock
    np.testing.assert_allclose(np.sort(back.times_ms), np.sort(win.times_ms), atol=1e-9)
