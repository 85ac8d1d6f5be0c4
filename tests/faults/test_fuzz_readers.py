"""Fuzz of the file readers: hypothesis-generated truncations, bit flips and zeroed blocks of real files
(NIX, NWB, the bundled IDX files, network and checkpoint files, YAML configs), each read in a forked child
(a crash or a hang of a reader is a failure here, not the end of the test run).

The only outcomes allowed: a project error (a SynsemError subclass, with a message) or a correct read. A
correct read is one equal to what was written (network, checkpoint, NIX: checksummed; IDX: gzip's CRC), or for
the formats without checksums a readable file: NWB (HDF5 keeps no checksum of the data, so a flip in a
spike time reads as another spike time; counted, not refused) and YAML (text: a flipped digit is another
valid config). The default run tries a few examples per format; ``-m slow_faults`` tries many more.
"""

import os
import pickle
import signal
import sys
import traceback

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from synsem_ephys.errors import SynsemError

# no shrinking: a mutation is small enough to read as found, and shrinking a hang costs TIMEOUT_S a step
_COMMON = dict(deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                      HealthCheck.data_too_large])
FAST = settings(max_examples=12, **_COMMON)
SLOW = settings(max_examples=250, **_COMMON)
TIMEOUT_S = 20  # a read of these small files takes well under a second: longer is a hang


# ------------------------------------------------------------------------------------ the files
def _record():
    from helpers import sim_record

    rec, _ = sim_record(n_trials=4)
    return rec


def _write_network(path):
    from helpers import small_spec

    from synsem_ephys.sim import Network

    Network(small_spec(), seed=2).save(path, extra={"config": {"dataset": "digits"}})


def _write_checkpoint(path):
    from synsem_ephys.train.checkpoint import rng_state, save_checkpoint

    w = torch.nn.Parameter(torch.linspace(-1, 1, 12, dtype=torch.float64).reshape(3, 4))
    opt = torch.optim.Adam([w], lr=0.01)
    w.grad = torch.ones_like(w)
    opt.step()
    trng, nrng = rng_state({"noise": torch.Generator().manual_seed(1)}, {"order": np.random.default_rng(2)})
    save_checkpoint(path, tensors={"weights.0": w.detach()}, state={"epochs_done": 1, "numpy_rng": nrng},
                    optimizer=opt.state_dict(), torch_rng=trng)


def _network_value(path):
    from synsem_ephys.sim import Network

    net = Network.load(path)
    return net.spec, net.extra, [w.detach().numpy().copy() for w in net.weights]


def _checkpoint_value(path):
    from synsem_ephys._files import payload_sha256
    from synsem_ephys.train.checkpoint import load_checkpoint

    ck = load_checkpoint(path)
    return payload_sha256([ck.tensors, ck.state, ck.optimizer, ck.torch_rng])


def _records_equal(a, b):
    from helpers import assert_records_equal

    try:
        assert_records_equal(a, b)
        return True
    except AssertionError:
        return False


def _arrays_equal(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


def _networks_equal(a, b):
    return a[0] == b[0] and a[1] == b[1] and len(a[2]) == len(b[2]) and all(_arrays_equal(x, y) for x, y in zip(a[2], b[2]))


def _read_nix(path):
    from synsem_ephys.io import read_nix_record

    return read_nix_record(path, timeout_s=5)  # HDF5 loops forever on some damaged files: the reader says so


def _read_nwb(path):
    import warnings

    from synsem_ephys.io import read_nwb

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pynwb warns about odd files; the outcome is what counts
        return read_nwb(path, timeout_s=5)  # as NIX: a hang of HDF5 is the reader's DataFormatError


def _read_idx(path):
    from synsem_ephys.train.data.idx import read_idx

    return read_idx(path)


def _read_yaml(path):
    from synsem_ephys.train.config import TrainConfig

    return TrainConfig.from_yaml(path)


#: format -> (file name, reader, equality of two reads or None where any successful read is correct)
FORMATS = {
    "nix": ("rec.nix", _read_nix, _records_equal),  # the file holds a SHA-256 of its payload
    "nwb": ("rec.nwb", _read_nwb, _records_equal),  # files of ours carry a checksum of the record
    "idx-images": ("t10k-images-idx3-ubyte.gz", _read_idx, _arrays_equal),
    "idx-labels": ("t10k-labels-idx1-ubyte.gz", _read_idx, _arrays_equal),
    "network": ("net.pt", _network_value, _networks_equal),
    "checkpoint": ("checkpoint.pt", _checkpoint_value, lambda a, b: a == b),
    "yaml": ("mnist_dale.yaml", _read_yaml, None),
}
#: formats read back as what was written whenever they are readable (their flips must be detected)
CHECKED = {"idx-images", "idx-labels", "network", "checkpoint", "nix"}


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    """Every format's file written once (name -> (path, bytes, its read)) and the record of NIX/NWB."""
    import shutil

    from synsem_ephys.io import write_nix, write_nwb
    from synsem_ephys.train.config import _CONFIG_DIR
    from synsem_ephys.train.data.mnist import MNIST_SUBSET_DIR

    d = tmp_path_factory.mktemp("originals")
    rec = _record()
    write_nix(rec, d / "rec.nix")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_nwb(rec, d / "rec.nwb")
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(MNIST_SUBSET_DIR / name, d / name)
    _write_network(d / "net.pt")
    _write_checkpoint(d / "checkpoint.pt")
    shutil.copy(_CONFIG_DIR / "mnist_dale.yaml", d / "mnist_dale.yaml")
    out = {}
    for fmt, (name, read, _) in FORMATS.items():
        out[fmt] = (d / name, (d / name).read_bytes(), read(d / name))
    return out


# ------------------------------------------------------------------------------------ mutations
_frac = st.floats(0, 1, exclude_max=True, allow_nan=False)
MUTATIONS = st.one_of(
    st.tuples(st.just("truncate"), _frac),
    st.tuples(st.just("flip"), st.lists(st.tuples(_frac, st.integers(0, 7)), min_size=1, max_size=8)),
    st.tuples(st.just("zero"), _frac, st.integers(1, 4096)),  # a torn write: a block of zeros
)


def mutate(raw, mutation):
    b = bytearray(raw)
    kind = mutation[0]
    if kind == "truncate":
        return bytes(b[: int(mutation[1] * len(b))])
    if kind == "flip":
        for frac, bit in mutation[1]:
            b[int(frac * len(b))] ^= 1 << bit
        return bytes(b)
    start = int(mutation[1] * len(b))
    b[start:start + mutation[2]] = bytes(len(b[start:start + mutation[2]]))
    return bytes(b)


# ------------------------------------------------------------------------------------ one read in a child
def _outcome(read, path):
    try:
        value = read(path)
    except SynsemError as exc:
        return ("project-error", type(exc).__name__, str(exc), None)
    except Exception as exc:  # noqa: BLE001 - anything else is what the fuzz looks for
        return ("foreign-error", type(exc).__name__, str(exc)[:500], "".join(traceback.format_exc(limit=-6)))
    return ("read", value, None, None)


def read_in_child(read, path):
    """``_outcome(read, path)`` in a forked child; ("crash", signal) / ("hang", ...) if it dies or hangs."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.close(r)
            signal.alarm(TIMEOUT_S)
            result = _outcome(read, path)
            try:
                blob = pickle.dumps(result)
            except Exception as exc:  # noqa: BLE001
                blob = pickle.dumps(("foreign-error", "unpicklable result", repr(exc), None))
            view = memoryview(blob)
            while view:
                view = view[os.write(w, view):]
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        blob = fh.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return ("hang" if sig == signal.SIGALRM else "crash", signal.Signals(sig).name, None, None)
    return pickle.loads(blob)


TALLY = {}


def check_one(fmt, originals, tmp_path, mutation):
    path, raw, original = originals[fmt]
    _, read, equal = FORMATS[fmt]
    data = mutate(raw, mutation)
    bad = tmp_path / f"mutated-{path.name}"
    bad.write_bytes(data)
    kind, a, b, tb = read_in_child(read, bad)
    tally = TALLY.setdefault(fmt, {})
    if kind == "read":
        same = data == raw or equal is None or equal(original, a)
        label = "read, equal" if (data == raw or (equal is not None and same)) else (
            "read, differs (no checksum in this format)" if equal is None else "read, differs")
        tally[label] = tally.get(label, 0) + 1
        assert same, f"{fmt}: {mutation} reads silently as something else than was written"
        return
    tally[kind] = tally.get(kind, 0) + 1
    assert kind == "project-error", f"{fmt}: {mutation} -> {kind} {a}: {b}\n{tb or ''}"
    assert b and b.strip(), f"{fmt}: {mutation} -> {a} without a message"


def _fuzz(fmt, profile, originals, tmp_path):
    @profile
    @given(mutation=MUTATIONS)
    def run(mutation):  # the files are not arguments: hypothesis would print them whole on a failure
        check_one(fmt, originals, tmp_path, mutation)

    run()


_PARAMS = list(FORMATS)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="reads each mutated file in a forked child")
@pytest.mark.parametrize("fmt", _PARAMS)
def test_fuzz_readers(fmt, originals, tmp_path):
    _fuzz(fmt, FAST, originals, tmp_path)


@pytest.mark.slow_faults
@pytest.mark.skipif(not hasattr(os, "fork"), reason="reads each mutated file in a forked child")
@pytest.mark.parametrize("fmt", _PARAMS)
def test_fuzz_readers_long(fmt, originals, tmp_path):
    _fuzz(fmt, SLOW, originals, tmp_path)
    print(f"\nfuzz {fmt}: {TALLY.get(fmt)}", file=sys.stderr)


def test_the_unmutated_files_read_back_correctly(originals):
    # the oracle itself: each format's own read of the unchanged file equals what was written
    for fmt, (path, raw, original) in originals.items():
        kind, value, _, _ = read_in_child(FORMATS[fmt][1], path)
        assert kind == "read", (fmt, kind)
        equal = FORMATS[fmt][2]
        assert equal is None or equal(original, value), fmt
    assert _records_equal(_record(), originals["nix"][2]) and _records_equal(_record(), originals["nwb"][2])
