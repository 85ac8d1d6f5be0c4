"""Corruption at rest: a flipped bit or a truncation of a network or checkpoint file is a DataFormatError
naming the file (or a read equal to what was written: bits torch never looks at), never a silently
different network; files written before checksums still load; the trainer's outputs are atomic and stale
temporary files of killed runs are removed at the next write of their target."""

import hashlib
import os
import time

import numpy as np
import pytest
import torch

from synsem_ephys.errors import DataFormatError

SHIPPED_MD5 = {"mnist_dale.pt": "681a48a8b13e116ba2652b5c92fb1fa5", "digits_dale.pt": "ab97e1a80be2a3b29e97520060dd6e83"}


def _network(small_spec, path):
    from synsem_ephys.sim import Network

    net = Network(small_spec, seed=5)
    net.save(path, extra={"config": {"dataset": "digits"}, "test_accuracy": 0.75})
    return net


def _same_network(a, b):
    return (a.spec == b.spec and a.extra == b.extra
            and all(torch.equal(x, y) for x, y in zip(a.weights, b.weights)))


def _checkpoint(path):
    from synsem_ephys.train.checkpoint import rng_state, save_checkpoint

    w = torch.nn.Parameter(torch.linspace(-1, 1, 24, dtype=torch.float64).reshape(4, 6))
    opt = torch.optim.Adam([w], lr=0.01)
    w.grad = torch.ones_like(w)
    opt.step()
    trng, nrng = rng_state({"noise": torch.Generator().manual_seed(1)}, {"order": np.random.default_rng(2)})
    save_checkpoint(path, tensors={"weights.0": w.detach()}, state={"epochs_done": 3, "numpy_rng": nrng},
                    optimizer=opt.state_dict(), torch_rng=trng)


def _same_checkpoint(a, b):
    from synsem_ephys._files import payload_sha256

    return (payload_sha256([a.tensors, a.state, a.optimizer, a.torch_rng])
            == payload_sha256([b.tensors, b.state, b.optimizer, b.torch_rng]))


def _flip_outcomes(path, load, same, positions, tmp_path):
    """Flip one bit at each byte position; count 'detected' (DataFormatError naming the file) and 'equal'."""
    raw = path.read_bytes()
    original = load(path)
    bad = tmp_path / ("flipped" + path.suffix)
    counts = {"detected": 0, "equal": 0}
    for i in positions:
        b = bytearray(raw)
        b[i] ^= 1 << (i % 8)
        bad.write_bytes(b)
        try:
            back = load(bad)
        except DataFormatError as exc:
            assert str(bad) in str(exc), exc
            counts["detected"] += 1
            continue
        assert same(original, back), f"byte {i} bit {i % 8}: the file loads as something else, silently"
        counts["equal"] += 1
    return counts


def _positions(n, step):
    return range(0, n, step)


@pytest.mark.parametrize("step", [pytest.param(17, id="every-17th-byte"),
                                  pytest.param(1, id="every-byte", marks=pytest.mark.slow_faults)])
def test_a_flipped_bit_in_a_network_file_is_detected(small_spec, tmp_path, step):
    from synsem_ephys.sim import Network

    _network(small_spec, tmp_path / "net.pt")
    n = (tmp_path / "net.pt").stat().st_size
    counts = _flip_outcomes(tmp_path / "net.pt", Network.load, _same_network, _positions(n, step), tmp_path)
    assert counts["detected"] > 0.5 * sum(counts.values()), counts


@pytest.mark.parametrize("step", [pytest.param(61, id="every-61st-byte"),
                                  pytest.param(1, id="every-byte", marks=pytest.mark.slow_faults)])
def test_a_flipped_bit_in_a_checkpoint_is_detected(tmp_path, step):
    from synsem_ephys.train.checkpoint import load_checkpoint

    _checkpoint(tmp_path / "checkpoint.pt")
    n = (tmp_path / "checkpoint.pt").stat().st_size
    counts = _flip_outcomes(tmp_path / "checkpoint.pt", load_checkpoint, _same_checkpoint, _positions(n, step), tmp_path)
    assert counts["detected"] > 0.5 * sum(counts.values()), counts


def test_a_flipped_weight_bit_is_a_checksum_mismatch(small_spec, tmp_path):
    # find the stored bytes of one weight and flip its lowest mantissa bit: the weight changes by one ulp
    from synsem_ephys.sim import Network

    net = _network(small_spec, tmp_path / "net.pt")
    raw = bytearray((tmp_path / "net.pt").read_bytes())
    needle = net.weights[1].detach().numpy().tobytes()[:16]
    at = raw.find(needle)
    assert at > 0
    raw[at] ^= 1
    (tmp_path / "net.pt").write_bytes(raw)
    with pytest.raises(DataFormatError, match="checksum mismatch: the file is corrupted") as info:
        Network.load(tmp_path / "net.pt")
    assert str(tmp_path / "net.pt") in str(info.value)


def test_truncated_network_and_checkpoint_files_are_format_errors(small_spec, tmp_path):
    from synsem_ephys.sim import Network
    from synsem_ephys.train.checkpoint import load_checkpoint

    _network(small_spec, tmp_path / "net.pt")
    _checkpoint(tmp_path / "checkpoint.pt")
    for name, load in (("net.pt", Network.load), ("checkpoint.pt", load_checkpoint)):
        raw = (tmp_path / name).read_bytes()
        for k in list(range(0, len(raw), max(1, len(raw) // 40))) + [len(raw) - 1]:
            (tmp_path / "cut.pt").write_bytes(raw[:k])
            with pytest.raises(DataFormatError):
                load(tmp_path / "cut.pt")


def test_a_changed_entry_name_is_refused(small_spec, tmp_path):
    # the checksum is optional (older files have none): a file whose "sha256" key was damaged must not pass as one
    from synsem_ephys.sim import Network

    net = _network(small_spec, tmp_path / "net.pt")
    obj = net.state()
    obj.update(extra="{}", sha257="0" * 64)
    torch.save(obj, tmp_path / "odd.pt")
    with pytest.raises(DataFormatError, match="entries"):
        Network.load(tmp_path / "odd.pt")


def test_files_without_a_checksum_still_load(small_spec, tmp_path):
    from synsem_ephys.demo import DATA_DIR
    from synsem_ephys.sim import Network
    from synsem_ephys.train.checkpoint import load_checkpoint

    for name, md5 in SHIPPED_MD5.items():  # the shipped networks: unchanged on disk, loading
        path = DATA_DIR / name
        assert hashlib.md5(path.read_bytes()).hexdigest() == md5, f"{name} was rewritten"
        net = Network.load(path)
        assert "config" in net.extra
    net = Network(small_spec, seed=1)  # a file as written before checksums
    obj = net.state()
    obj["extra"] = '{"old": true}'
    torch.save(obj, tmp_path / "old.pt")
    assert Network.load(tmp_path / "old.pt").extra == {"old": True}
    torch.save({"format": "synsem_ephys.checkpoint", "version": 1, "tensors": {"w": torch.ones(2)}, "optimizer": None,
                "state": '{"epochs_done": 1}', "torch_rng": {}}, tmp_path / "old_checkpoint.pt")
    assert load_checkpoint(tmp_path / "old_checkpoint.pt").state == {"epochs_done": 1}


def _stale(directory, name, age_s, chars="abcd1234", suffix=""):
    p = directory / f".{name}.{chars}.tmp{suffix}"
    p.write_text("left by a killed run")
    t = time.time() - age_s
    os.utime(p, (t, t))
    return p


def test_stale_temporary_files_are_removed_at_the_next_write(tmp_path):
    from synsem_ephys._files import remove_stale_temps, write_text_atomic

    old = _stale(tmp_path, "a.json", 3600)
    young = _stale(tmp_path, "a.json", 0, chars="young123")  # maybe a concurrent writer's: kept
    other = _stale(tmp_path, "b.json", 3600)  # another target's: kept until b.json is written
    lookalike = tmp_path / ".a.json.bak.tmp"  # not the exact pattern: kept
    lookalike.write_text("x")
    os.utime(lookalike, (0, 0))
    write_text_atomic(tmp_path / "a.json", "{}")
    assert not old.exists() and young.exists() and other.exists() and lookalike.exists()
    nix_tmp = _stale(tmp_path, "r.nix", 3600, suffix=".nix")  # atomic_path's temporary files carry a suffix
    assert remove_stale_temps(tmp_path / "r.nix") == [nix_tmp]


def test_trainer_outputs_go_through_the_atomic_writer(tmp_path):
    # each output's stale temporary file disappears only if that output is written by _files
    from synsem_ephys.train import train_from_config
    from synsem_ephys.train.config import TrainConfig

    out = tmp_path / "run"
    out.mkdir()
    names = ("config.yaml", "metrics.json", "network.pt", "checkpoint.pt")
    stale = [_stale(out, name, 3600) for name in names]
    cfg = TrainConfig(dataset="yinyang", train_size=20, test_size=10, hidden=((6, 0),), epochs=1, val_fraction=0.0)
    train_from_config(cfg, out, progress=False)
    assert [p.exists() for p in stale] == [False] * len(names)
    assert sorted(os.listdir(out)) == sorted(names)
    assert TrainConfig.from_yaml(out / "config.yaml") == cfg
