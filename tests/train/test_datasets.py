"""Dataset loaders: MNIST IDX on the real files, format errors, directory resolution, Yin-Yang, digits.

Reference values: MNIST label counts of the original files (LeCun et al.; e.g. 5,923 zeros in the
training set, 1,135 ones in the test set) and the canonical MD5s listed in ../shared/data/README.md.
"""

import gzip
import shutil
import struct

import numpy as np
import pytest

from synsem_ephys.errors import DataFormatError, DataMissingError
from synsem_ephys.train import data as ds

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _shared_mnist():
    try:
        d = ds.mnist._repo_default_mnist()
    except Exception:  # pragma: no cover
        return None
    return d if all((d / (s + ".gz")).is_file() or (d / s).is_file() for s in ds.MNIST_MD5) else None


SHARED = _shared_mnist()
needs_mnist = pytest.mark.skipif(SHARED is None, reason="../shared/data/mnist not present")


def _write_idx(path, arr, code=0x08, compress=False):
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    body = header + arr.astype(ds.idx._IDX_DTYPES[code]).tobytes()
    if compress:
        body = gzip.compress(body)
    path.write_bytes(body)
    return path


# ------------------------------------------------------------------------------ real MNIST files
@needs_mnist
def test_mnist_real_files_shapes_and_label_counts():
    train = ds.load_mnist("train", SHARED)
    test = ds.load_mnist("test", SHARED)
    assert train.x.shape == (60000, 784) and train.y.shape == (60000,)
    assert test.x.shape == (10000, 784) and test.y.shape == (10000,)
    assert train.x.dtype == np.float64 and 0.0 <= train.x.min() and train.x.max() == 1.0
    assert train.class_counts().tolist() == MNIST_TRAIN_COUNTS
    assert test.class_counts().tolist() == MNIST_TEST_COUNTS
    # first labels of the original files
    assert train.y[:8].tolist() == [5, 0, 4, 1, 9, 2, 1, 3]
    assert test.y[:8].tolist() == [7, 2, 1, 0, 4, 1, 4, 9]


@needs_mnist
def test_mnist_checksums_match_canonical():
    assert ds.verify_mnist(SHARED) == ds.MNIST_MD5


@needs_mnist
def test_mnist_plain_and_gzip_give_same_data(tmp_path):
    for stem in ds.MNIST_FILES["test"]:
        with gzip.open(SHARED / (stem + ".gz"), "rb") as src, open(tmp_path / stem, "wb") as dst:
            shutil.copyfileobj(src, dst)
    plain = ds.load_mnist("test", tmp_path, verify=True)
    gz = ds.load_mnist("test", SHARED)
    np.testing.assert_array_equal(plain.x, gz.x)
    np.testing.assert_array_equal(plain.y, gz.y)


@needs_mnist
def test_mnist_checksum_mismatch_is_detected(tmp_path):
    for stem in ds.MNIST_MD5:
        shutil.copy(SHARED / (stem + ".gz"), tmp_path / (stem + ".gz"))
    raw = bytearray(gzip.decompress((tmp_path / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    raw[100] = (raw[100] + 1) % 10  # still a valid IDX file, different content
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(bytes(raw))
    ds.load_mnist("test", tmp_path)  # readable ...
    with pytest.raises(DataFormatError, match="MD5"):  # ... but not canonical
        ds.verify_mnist(tmp_path)
    with pytest.raises(DataFormatError, match="MD5"):
        ds.load_mnist("test", tmp_path, verify=True)


@needs_mnist
def test_download_helper_with_local_mirror(tmp_path):
    out = ds.download_mnist(tmp_path / "dl", base_url=SHARED.resolve().as_uri() + "/")
    assert ds.verify_mnist(out) == ds.MNIST_MD5
    assert not list(out.glob(".*part"))  # no temporary files left


# ------------------------------------------------------------------------------ IDX format
@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("code", [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E])
def test_read_idx_round_trip(tmp_path, compress, code):
    arr = (np.arange(24).reshape(2, 3, 4) - 5)
    if code == 0x08:
        arr = np.abs(arr)
    p = _write_idx(tmp_path / "a.idx", arr, code, compress)
    got = ds.read_idx(p)
    assert got.shape == (2, 3, 4) and got.dtype.isnative
    np.testing.assert_array_equal(got, arr)


def test_read_idx_truncated(tmp_path):
    p = _write_idx(tmp_path / "a", np.zeros((10, 28, 28), np.uint8))
    p.write_bytes(p.read_bytes()[:-5])
    with pytest.raises(DataFormatError, match="truncated"):
        ds.read_idx(p)


def test_read_idx_trailing_bytes(tmp_path):
    p = _write_idx(tmp_path / "a", np.zeros((3,), np.uint8))
    p.write_bytes(p.read_bytes() + b"xx")
    with pytest.raises(DataFormatError, match="trailing"):
        ds.read_idx(p)


def test_read_idx_bad_magic(tmp_path):
    p = tmp_path / "a"
    p.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(DataFormatError, match="magic"):
        ds.read_idx(p)
    p.write_bytes(b"\x00\x00\x08")
    with pytest.raises(DataFormatError):
        ds.read_idx(p)


def test_read_idx_corrupt_and_truncated_gzip(tmp_path):
    p = _write_idx(tmp_path / "a.gz", np.arange(1000, dtype=np.uint8).reshape(10, 100) % 7, compress=True)
    good = p.read_bytes()
    p.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataFormatError, match="gzip"):
        ds.read_idx(p)
    p.write_bytes(good[:10] + bytes(b ^ 0xFF for b in good[10:20]) + good[20:])
    with pytest.raises(DataFormatError):
        ds.read_idx(p)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(DataMissingError, match="does not exist"):
        ds.read_idx(tmp_path / "nope")


def test_load_mnist_rejects_wrong_layout(tmp_path):
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((4, 8, 8), np.uint8))
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros((4,), np.uint8))
    with pytest.raises(DataFormatError, match="28, 28"):
        ds.load_mnist("test", tmp_path)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((4, 28, 28), np.uint8))
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros((3,), np.uint8))
    with pytest.raises(DataFormatError, match="labels"):
        ds.load_mnist("test", tmp_path)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([0, 1, 2, 12], np.uint8))
    with pytest.raises(DataFormatError, match="0..9"):
        ds.load_mnist("test", tmp_path)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([0, 1, 2, 9], np.uint8))
    small = ds.load_mnist("test", tmp_path)
    assert small.x.shape == (4, 784) and small.y.tolist() == [0, 1, 2, 9]


def test_load_mnist_missing_file_names_candidates(tmp_path):
    with pytest.raises(DataMissingError, match=r"t10k-images-idx3-ubyte\.gz"):
        ds.load_mnist("test", tmp_path)
    with pytest.raises(ValueError, match="split"):
        ds.load_mnist("validation", tmp_path)


# ------------------------------------------------------------------------------ directory resolution
def test_mnist_dir_resolution_order(tmp_path, monkeypatch):
    a, b, c, d = (tmp_path / n for n in "abcd")
    for p in (a, b, c / "mnist", d):
        p.mkdir(parents=True)
    monkeypatch.setattr(ds.mnist, "_repo_default_mnist", lambda: d)
    monkeypatch.setenv("SYNSEM_MNIST_DIR", str(b))
    monkeypatch.setenv("SYNSEM_DATA", str(c))
    assert ds.mnist_dir(a) == a
    assert ds.mnist_dir() == b
    monkeypatch.delenv("SYNSEM_MNIST_DIR")
    assert ds.mnist_dir() == c / "mnist"
    monkeypatch.delenv("SYNSEM_DATA")
    assert ds.mnist_dir() == d


def test_mnist_dir_missing_names_all_places(tmp_path, monkeypatch):
    monkeypatch.setattr(ds.mnist, "_repo_default_mnist", lambda: tmp_path / "repo_default")
    monkeypatch.delenv("SYNSEM_MNIST_DIR", raising=False)
    monkeypatch.delenv("SYNSEM_DATA", raising=False)
    with pytest.raises(DataMissingError) as info:
        ds.mnist_dir()
    msg = str(info.value)
    for part in ("SYNSEM_MNIST_DIR", "SYNSEM_DATA", "repo_default", "download_mnist"):
        assert part in msg
    # a variable that is set but names no directory is an error naming it, not a fall-through to the next place
    (tmp_path / "repo_default").mkdir()
    monkeypatch.setenv("SYNSEM_DATA", str(tmp_path / "env2"))
    with pytest.raises(DataMissingError, match="SYNSEM_DATA.*env2"):
        ds.mnist_dir()
    monkeypatch.setenv("SYNSEM_MNIST_DIR", str(tmp_path / "env1"))
    with pytest.raises(DataMissingError, match="SYNSEM_MNIST_DIR.*env1"):
        ds.mnist_dir()
    # an explicit argument that does not exist is an error, not a silent fallback
    monkeypatch.setenv("SYNSEM_MNIST_DIR", str(tmp_path))
    with pytest.raises(DataMissingError, match="data_dir"):
        ds.mnist_dir(tmp_path / "typo")


# ------------------------------------------------------------------------------ Yin-Yang
def _independent_class(x, y):
    """Yin-Yang class from the picture: the S-curve is two half circles of radius 1/4 (in [0, 1]^2)."""
    if np.hypot(x - 0.25, y - 0.5) <= 0.1 or np.hypot(x - 0.75, y - 0.5) <= 0.1:
        return 2
    if y > 0.5:  # upper half: yin except the right lobe (inside the right half circle)
        return 1 if np.hypot(x - 0.75, y - 0.5) <= 0.25 else 0
    return 0 if np.hypot(x - 0.25, y - 0.5) <= 0.25 else 1  # lower half: yang except the left lobe


def test_yin_yang_definition():
    data = ds.yin_yang(3000, seed=1)
    assert data.x.shape == (3000, 5) and data.n_classes == 3 and data.class_names == ("yin", "yang", "dot")
    x, y = data.x[:, 0], data.x[:, 1]
    np.testing.assert_allclose(data.x[:, 2], 1 - x)
    np.testing.assert_allclose(data.x[:, 3], 1 - y)
    np.testing.assert_array_equal(data.x[:, 4], 1.0)
    assert np.all(np.hypot(x - 0.5, y - 0.5) <= 0.5)
    assert [_independent_class(a, b) for a, b in zip(x, y)] == data.y.tolist()
    # balanced classes as in the original (target class drawn uniformly per sample)
    counts = data.class_counts()
    assert np.all(np.abs(counts - 1000) < 100), counts
    # known points: dots, the two lobes, top and bottom
    assert ds.yinyang._yin_yang_class(np.array([0.25, 0.75, 0.1, 0.9, 0.5, 0.5]), np.array([0.5, 0.5, 0.5, 0.5, 0.9, 0.1]),
                              0.1, 0.5).tolist() == [2, 2, 0, 1, 0, 1]


def test_yin_yang_seeded_and_splits_independent():
    a = ds.yin_yang(500, seed=3)
    b = ds.yin_yang(500, seed=3)
    c = ds.yin_yang(500, seed=4)
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x, c.x)
    tr, te = ds.load_yin_yang("train", 0), ds.load_yin_yang("test", 0)
    assert (len(tr), len(te)) == (5000, 1000) and tr.split == "train"
    assert not np.isin(te.x[:, 0], tr.x[:, 0]).any()
    assert ds.yin_yang(10, 0, bias=False).x.shape == (10, 4)
    with pytest.raises(ValueError, match="n_samples"):
        ds.yin_yang(-1, 0)
    with pytest.raises(ValueError, match="r_small"):
        ds.yin_yang(10, 0, r_small=0.3)


# ------------------------------------------------------------------------------ digits, common
def test_digits():
    pytest.importorskip("sklearn")
    full = ds.load_digits()
    assert full.x.shape == (1797, 64) and full.x.min() == 0.0 and full.x.max() == 1.0
    tr, te = ds.load_digits("train", seed=1), ds.load_digits("test", seed=1)
    assert len(tr) + len(te) == 1797
    assert np.all(np.abs(te.class_counts() / full.class_counts() - 0.2) < 0.01)
    rows = {r.tobytes() for r in tr.x}
    assert sum(r.tobytes() in rows for r in te.x) < 5  # disjoint up to duplicate images in the set
    np.testing.assert_array_equal(ds.load_digits("test", seed=1).x, te.x)


def test_load_dataset_dispatch_and_errors():
    pytest.importorskip("sklearn")
    assert ds.load_dataset("yinyang", "test", n_samples=30).x.shape == (30, 5)
    assert ds.load_dataset("digits", "train", n_samples=20).x.shape == (20, 64)
    assert ds.dataset_shape("mnist") == (784, 10)
    with pytest.raises(ValueError, match="dataset"):
        ds.load_dataset("cifar", "train")
    with pytest.raises(ValueError, match="n_samples"):
        ds.load_dataset("digits", "train", n_samples=0)


def test_split_validation():
    data = ds.yin_yang(100, 0)
    tr, val = ds.split_validation(data, 0.2, seed=5)
    assert (len(tr), len(val)) == (80, 20) and val.split == "val"
    assert sorted(np.concatenate([tr.x[:, 0], val.x[:, 0]])) == sorted(data.x[:, 0])
    assert ds.split_validation(data, 0.0, 0)[1] is None
    with pytest.raises(ValueError, match="val_fraction"):
        ds.split_validation(data, 1.0, 0)


def test_bundled_mnist_test_subset():
    sub = ds.load_mnist_test_subset()
    assert sub.x.shape == (1000, 784) and sub.y.shape == (1000,) and sub.split == "test"
    assert 0.0 <= sub.x.min() and sub.x.max() <= 1.0
    assert np.bincount(sub.y, minlength=10).min() >= 80  # every digit present (85-126 of each)


@needs_mnist
def test_bundled_subset_is_the_first_1000_test_images_and_is_reproducible(tmp_path):
    full = ds.load_mnist("test", SHARED)
    sub = ds.load_mnist_test_subset()
    assert np.array_equal(sub.x, full.x[:1000]) and np.array_equal(sub.y, full.y[:1000])
    md5 = ds.write_mnist_test_subset(tmp_path, 1000, SHARED)
    assert md5 == ds.MNIST_SUBSET_MD5
    for stem in ds.MNIST_FILES["test"]:  # deterministic gzip: the same bytes as the bundled files
        assert (tmp_path / f"{stem}.gz").read_bytes() == (ds.MNIST_SUBSET_DIR / f"{stem}.gz").read_bytes()


def test_bundled_subset_errors(tmp_path):
    with pytest.raises(DataMissingError, match="bundled MNIST test subset"):
        ds.load_mnist_test_subset(tmp_path)
    for stem in ds.MNIST_FILES["test"]:
        shutil.copy(ds.MNIST_SUBSET_DIR / f"{stem}.gz", tmp_path / f"{stem}.gz")
    raw = bytearray(gzip.decompress((tmp_path / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    raw[-1] = (raw[-1] + 1) % 10  # one label changed: still a valid IDX file, but not the bundled one
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataFormatError, match="MD5"):
        ds.load_mnist_test_subset(tmp_path)
    with pytest.raises(ValueError, match="n"):
        ds.write_mnist_test_subset(tmp_path, 0, SHARED)
