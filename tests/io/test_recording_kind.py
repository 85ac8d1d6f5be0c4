"""Recording files told apart by content (io.files.recording_kind), read_recording's errors, adapters.read_any."""

import shutil
import warnings

import numpy as np
import pytest

from helpers import assert_records_equal, sim_record
from synsem_ephys.adapters import load
from synsem_ephys.errors import DataFormatError, DataMissingError
from synsem_ephys.io import write_nix, write_nwb
from synsem_ephys.io.files import read_recording, recording_kind


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("kinds")
    rec, _ = sim_record(n_trials=3)
    write_nix(rec, d / "r.nix")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_nwb(rec, d / "r.nwb")
    shutil.copy(d / "r.nwb", d / "nwb_named.h5")  # suffixes that lie
    shutil.copy(d / "r.nix", d / "nix_named.nwb")
    (d / "one.txt").write_text("# spike times (ms)\n1.5\n2.25\n\n40\n")
    (d / "pairs.csv").write_text("0.0015,3\n0.0020,1 # a comment\n0.0031,3\n")
    (d / "words.txt").write_text("hello world\n")
    (d / "wide.txt").write_text("1 2 3\n")
    (d / "latin1.txt").write_bytes("0.1\n\xe9t\xe9\n".encode("latin-1"))
    (d / "empty.txt").write_text("")
    (d / "blob.bin").write_bytes(bytes(range(256)) * 4)
    return d, rec


@pytest.mark.parametrize("name, kind", [("r.nix", "NIX"), ("r.nwb", "NWB"), ("nwb_named.h5", "NWB"),
                                        ("nix_named.nwb", "NIX"), ("one.txt", "text"), ("pairs.csv", "text"),
                                        ("empty.txt", "text"), ("words.txt", None), ("wide.txt", None),
                                        ("latin1.txt", None), ("blob.bin", None)])
def test_kind_comes_from_the_content(files, name, kind):
    assert recording_kind(files[0] / name) == kind
    assert recording_kind(files[0]) == "directory"


def test_read_recording_reads_by_content_and_explains_the_rest(files):
    d, rec = files
    assert_records_equal(rec, read_recording(d / "nwb_named.h5"))
    assert_records_equal(rec, read_recording(d / "nix_named.nwb"))
    with pytest.raises(DataFormatError, match="load_spiketimes.*--time-unit"):
        read_recording(d / "one.txt")
    with pytest.raises(DataFormatError, match="blob.bin, a file of no format read here"):
        read_recording(d / "blob.bin")
    with pytest.raises(DataMissingError):
        read_recording(d / "missing.nwb")


def test_read_any_reads_text_with_its_time_unit_and_layout_from_its_lines(files):
    d, rec = files
    one = load("any", d / "one.txt", time_unit="ms")
    assert one.n_units == 1 and np.array_equal(np.sort(one.times_ms), [1.5, 2.25, 40.0])
    pairs = load("any", d / "pairs.csv", time_unit="s")
    assert pairs.n_units == 2 and pairs.n_spikes == 3  # units 1 and 3, comma-separated
    assert np.allclose(np.sort(pairs.times_ms), [1.5, 2.0, 3.1])
    assert_records_equal(rec, load("any", d / "r.nwb"))
    with pytest.raises(ValueError, match="^time_unit: expected the unit"):
        load("any", d / "one.txt")
    with pytest.raises(ValueError, match="^time_unit: expected no time_unit for a NWB file"):
        load("any", d / "r.nwb", time_unit="s")
    with pytest.raises(ValueError, match="^trials: expected no NWB reading options"):
        load("any", d / "one.txt", time_unit="ms", trials="trials")


def test_kind_is_read_once_per_file_state_and_again_when_the_file_changes(files, tmp_path, monkeypatch):
    import synsem_ephys._files as files_mod

    d, _ = files
    calls = []
    real = files_mod.call_isolated

    def counting(fn, *args, **kwargs):
        calls.append(args[0])
        return real(fn, *args, **kwargs)

    monkeypatch.setattr(files_mod, "call_isolated", counting)
    path = tmp_path / "x.h5"
    shutil.copy(d / "r.nwb", path)
    assert [recording_kind(path) for _ in range(3)] == ["NWB"] * 3
    assert len(calls) == 1  # the content is looked at once, however many readers ask
    shutil.copy(d / "r.nix", tmp_path / "y.h5")
    (tmp_path / "y.h5").replace(path)  # another file in its place (as an atomic write leaves it)
    assert recording_kind(path) == "NIX"
    assert len(calls) == 2
    path.write_text("1.5\n2.5\n")  # rewritten in place: a new size and modification time
    assert recording_kind(path) == "text"


def test_a_damaged_hdf5_file_is_not_remembered(tmp_path, monkeypatch):
    import synsem_ephys._files as files_mod

    path = tmp_path / "d.nwb"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(600))  # the signature and nothing readable after it
    calls = []

    def dying(fn, *args, **kwargs):
        calls.append(1)
        raise files_mod.ChildProcessDied("simulated")

    monkeypatch.setattr(files_mod, "call_isolated", dying)
    assert recording_kind(path) == "NWB"  # the suffix decides, as before
    assert recording_kind(path) == "NWB"
    assert len(calls) == 2  # asked again: a failure is not cached
