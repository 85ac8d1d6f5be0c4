"""A full disk: one clear DiskFullError naming the file and the free space, the previous file intact, no
temporary file left, and never a crashed process (HDF5 segfaults its process after a failed flush, so the
NIX writer runs in a child process: checked here in a subprocess, whose exit status is the evidence)."""

import errno
import os
import shutil

import pytest
import torch

from synsem_ephys._files import write_atomic, write_text_atomic
from synsem_ephys.errors import DiskFullError, SynsemError, WriteError

MiB = 1 << 20


def _entries(d):
    return sorted(os.listdir(d))


def _assert_disk_full(exc, path):
    assert isinstance(exc, DiskFullError) and isinstance(exc, OSError) and isinstance(exc, SynsemError)
    assert exc.errno == errno.ENOSPC
    msg = str(exc)
    assert str(path) in msg and "free" in msg and "\n" not in msg, msg


def test_write_atomic_on_a_full_disk_keeps_the_previous_file(small_fs):
    d = small_fs("256k")
    target = d / "data.bin"
    target.write_bytes(b"previous")

    def write(fh):
        for _ in range(4):
            fh.write(b"x" * (256 * 1024))

    with pytest.raises(DiskFullError) as info:
        write_atomic(target, write)
    _assert_disk_full(info.value, target)
    assert "The previous file is unchanged" in str(info.value)
    assert target.read_bytes() == b"previous"
    assert _entries(d) == ["data.bin"]  # no temporary file left


def test_a_text_larger_than_the_free_space_is_refused_before_writing(small_fs):
    d = small_fs("256k")
    with pytest.raises(DiskFullError) as info:
        write_text_atomic(d / "big.json", "x" * MiB)
    _assert_disk_full(info.value, d / "big.json")
    assert "needs about 1.0 MiB" in str(info.value) and "Nothing was written" in str(info.value)
    assert _entries(d) == []


def test_torch_writer_on_a_full_disk_is_a_disk_full_error_not_an_inline_container_failure(small_fs):
    # torch's zip writer turns the ENOSPC of the file object into "enforce fail at inline_container.cc":
    # the file object handed to the writer records the OSError, so the cause is still found
    d = small_fs("256k")
    with pytest.raises(DiskFullError) as info:
        write_atomic(d / "t.pt", lambda fh: torch.save({"w": torch.zeros(200_000, dtype=torch.float64)}, fh))
    _assert_disk_full(info.value, d / "t.pt")
    assert "inline_container" not in str(info.value).split("[")[0]
    assert _entries(d) == []


def test_network_save_on_a_full_disk_keeps_the_previous_network(small_fs, small_spec):
    from synsem_ephys.sim import Network
    from synsem_ephys.spec import NetworkSpec

    d = small_fs("512k")
    small = Network(small_spec, seed=3)
    small.save(d / "net.pt", extra={"run": "small"})
    big = Network(NetworkSpec(784, hidden=((300, 100),), n_outputs=10), seed=0)  # 2.5 MB of weights
    with pytest.raises(DiskFullError) as info:
        big.save(d / "net.pt", extra={"run": "big"})
    _assert_disk_full(info.value, d / "net.pt")
    back = Network.load(d / "net.pt")
    assert back.extra == {"run": "small"}
    for a, b in zip(back.weights, small.weights):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert _entries(d) == ["net.pt"]


def test_checkpoint_save_on_a_full_disk(small_fs):
    from synsem_ephys.train.checkpoint import load_checkpoint, save_checkpoint

    d = small_fs("256k")
    save_checkpoint(d / "checkpoint.pt", tensors={"w": torch.ones(3)}, state={"epoch": 1})
    with pytest.raises(DiskFullError) as info:
        save_checkpoint(d / "checkpoint.pt", tensors={"w": torch.ones(100_000, dtype=torch.float64)},
                        state={"epoch": 2})
    _assert_disk_full(info.value, d / "checkpoint.pt")
    assert load_checkpoint(d / "checkpoint.pt").state == {"epoch": 1}
    assert _entries(d) == ["checkpoint.pt"]


def test_nix_write_on_a_full_disk_in_this_process(small_fs, tmp_path):
    # in process: the writer's child takes HDF5's failure; this process writes NIX files normally afterwards
    from helpers import assert_records_equal, sim_record

    from synsem_ephys.io import read_nix_record, write_nix

    d = small_fs("1200k")  # a NIX file of 2 trials takes ~800 KiB, one of 2,000 trials ~1.7 MiB
    small, _ = sim_record(n_trials=2)
    write_nix(small, d / "rec.nix")
    before = (d / "rec.nix").read_bytes()
    big, _ = sim_record(n_trials=2000)
    with pytest.raises(DiskFullError) as info:
        write_nix(big, d / "rec.nix")
    _assert_disk_full(info.value, d / "rec.nix")
    assert (d / "rec.nix").read_bytes() == before
    assert _entries(d) == ["rec.nix"]
    write_nix(small, tmp_path / "after.nix")
    assert_records_equal(small, read_nix_record(tmp_path / "after.nix"))


_HDF5_SCRIPT = """
import sys
from helpers import sim_record
from synsem_ephys.io import write_nix, write_nwb
fmt, full, elsewhere = sys.argv[1:]
write = write_nix if fmt == "nix" else write_nwb
rec, _ = sim_record(n_trials=2000)
try:
    write(rec, full + "/rec." + fmt)
    print("NO ERROR")
except Exception as exc:
    print(type(exc).__name__, "|", exc)
small, _ = sim_record(n_trials=2)
write(small, elsewhere + "/after." + fmt)
print("AFTER OK")
"""


@pytest.mark.parametrize("fmt", ["nix", "nwb"])
def test_hdf5_writer_on_a_full_disk_does_not_crash_the_process(fmt, small_fs, tmp_path, python):
    full = small_fs("256k")
    r = python(_HDF5_SCRIPT, fmt, full, tmp_path)
    assert r.returncode == 0, f"exit status {r.returncode}; stderr tail: {r.stderr[-2000:]}"
    assert r.stdout.startswith("DiskFullError |"), r.stdout
    assert "AFTER OK" in r.stdout
    assert len(r.stderr.splitlines()) <= 3, r.stderr[-2000:]  # no flood of h5py tracebacks
    assert os.listdir(full) == []


def test_disk_full_error_of_a_stray_writer(tmp_path):
    from synsem_ephys._files import disk_full_error

    raw = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "fig.png"))
    exc = disk_full_error(raw, raw.filename)
    _assert_disk_full(exc, tmp_path / "fig.png")
    assert disk_full_error(OSError(errno.EIO, "I/O error"), "x") is None


def _tiny_recording(path):
    from helpers import sim_record

    from synsem_ephys.io import write_nix

    rec, _ = sim_record(n_trials=40)
    write_nix(rec, path)


@pytest.mark.slow_faults
def test_cli_analyze_on_a_full_disk_is_one_line_and_exit_1(small_fs, tmp_path, python):
    _tiny_recording(tmp_path / "rec.nix")
    full = small_fs("128k")
    r = python("import sys; from synsem_ephys.cli import main; sys.exit(main(sys.argv[1:]))",
               "analyze", tmp_path / "rec.nix", "--out", full / "report", "--no-progress")
    assert r.returncode == 1, (r.returncode, r.stderr[-2000:])
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "error:" in lines[0] and "free" in lines[0] and str(full) in lines[0], r.stderr[-2000:]


def test_cli_out_on_a_read_only_file_system(read_only_fs, capsys):
    from synsem_ephys.cli import main

    assert main(["train", "--config", "yinyang", "--out", str(read_only_fs / "run"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error: --out:" in err[0] and "ead-only" in err[0], err


def test_write_on_a_read_only_file_system_is_a_write_error(read_only_fs):
    with pytest.raises(WriteError) as info:
        write_text_atomic(read_only_fs / "x.json", "{}")
    assert info.value.errno == errno.EROFS and "read-only file system" in str(info.value)
    assert not isinstance(info.value, DiskFullError)


def test_write_without_permission_is_a_write_error(python):
    import tempfile

    base = tempfile.mkdtemp(prefix="synsem-perm-")  # not under pytest's own 0700 directory
    os.chmod(base, 0o755)
    locked = os.path.join(base, "locked")
    os.mkdir(locked, 0o555)
    os.chmod(locked, 0o555)
    code = ("import sys\nfrom synsem_ephys._files import write_text_atomic\nfrom synsem_ephys.errors import WriteError\n"
            "try:\n    write_text_atomic(sys.argv[1] + '/x.json', '{}')\n    print('WROTE')\n"
            "except WriteError as exc:\n    print('WriteError', exc.errno, '|', exc)\n")
    user = 65534 if os.geteuid() == 0 else None  # root ignores permissions: run as nobody
    r = python(code, locked, user=user, cwd="/")
    assert r.returncode == 0, r.stderr[-2000:]
    try:
        assert r.stdout.startswith(f"WriteError {errno.EACCES} |") and "permission denied" in r.stdout, r.stdout
        assert locked in r.stdout and os.listdir(locked) == []
    finally:
        os.chmod(locked, 0o755)
        shutil.rmtree(base)
