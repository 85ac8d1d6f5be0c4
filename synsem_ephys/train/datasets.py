"""Datasets for training TTFS networks: MNIST (IDX files), Yin-Yang (generated), 8x8 digits.

Every loader returns a :class:`LabelledData`: features ``x`` as float64 in [0, 1], shape
``(n_samples, n_features)``, and integer labels ``y`` in ``0 .. n_classes - 1``.  Features become
spike times through :func:`synsem_ephys.encoding.latency_encode`.

MNIST
-----
The four IDX files of LeCun, Cortes & Burges (gzip-compressed or plain) are read from a directory
resolved by :func:`mnist_dir`.  IDX layout (big-endian)::

    bytes 0-1   0x00 0x00
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    4 * d bytes the sizes of the dimensions (uint32)
    then        prod(sizes) elements, row-major

Pixels are scaled ``x = pixel / 255``.  :func:`verify_mnist` compares the MD5 of the *uncompressed*
contents with the canonical values (:data:`MNIST_MD5`).  :func:`download_mnist` is a convenience for
users; nothing in the package or its tests depends on the network.

Yin-Yang (Kriener et al. 2021, "The Yin-Yang dataset", arXiv:2102.08211)
--------------------------------------------------------------------------
Points ``(x, y)`` are drawn uniformly in the square ``[0, 2 r_big]^2`` and kept if they lie inside
the big circle of radius ``r_big`` around ``(r_big, r_big)``.  With the distances ``d_l``, ``d_r`` to
the centres of the two small dots, ``(r_big / 2, r_big)`` and ``(3 r_big / 2, r_big)``::

    dot   if d_l <= r_small or d_r <= r_small                                  (label 2)
    yin   else if d_l <= r_big / 2  or  (y > r_big and d_r > r_big / 2)        (label 0)
    yang  otherwise                                                            (label 1)

As in the original generator, each sample first draws its target class uniformly from the three
classes and then receives a point rejection-sampled from that class's region, so the classes are
balanced in expectation although their areas differ (here the rejection sampling is done in
vectorised blocks; the distribution is the same, the random stream is not the original's).  The features are ``(x, y, 1 - x, 1 - y)``
(so every sample has the same summed input) plus, by default, a constant bias feature
(``bias_value``), 5 inputs in all.

8x8 digits
----------
scikit-learn's bundled copy of the UCI optical digits test set (1,797 images, values 0..16 scaled
``x = v / 16``); a tiny offline dataset for fast tests.  Requires scikit-learn
(``pip install synsem-ephys[digits]``).
"""

import gzip
import hashlib
import numbers
import os
import struct
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._files import write_atomic
from ..errors import DataFormatError, DataMissingError, input_error

__all__ = [
    "IMAGE_SHAPES",
    "LabelledData",
    "MNIST_FILES",
    "MNIST_MD5",
    "DATASET_NAMES",
    "dataset_shape",
    "read_idx",
    "idx_md5",
    "mnist_dir",
    "find_mnist_file",
    "verify_mnist",
    "load_mnist",
    "download_mnist",
    "MNIST_SUBSET_DIR",
    "MNIST_SUBSET_MD5",
    "load_mnist_test_subset",
    "write_mnist_test_subset",
    "yin_yang",
    "load_yin_yang",
    "load_digits",
    "load_dataset",
    "split_validation",
]

#: File stems (without ``.gz``) of the two MNIST splits: (images, labels).
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

#: Canonical MD5 of the *uncompressed* MNIST files (see ../shared/data/README.md).
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

#: Dataset names understood by :func:`load_dataset`.
DATASET_NAMES = ("mnist", "yinyang", "digits")

_SHAPES = {"mnist": (784, 10), "yinyang": (5, 3), "digits": (64, 10)}

#: ``(height, width)`` of the image datasets (features are row-major flattened pixels).
IMAGE_SHAPES = {"mnist": (28, 28), "digits": (8, 8)}

_IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_DEFAULT_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"


@dataclass(frozen=True)
class LabelledData:
    """Features and labels of one dataset split.

    Attributes
    ----------
    x : numpy.ndarray
        float64, shape ``(n_samples, n_features)``, values in [0, 1].
    y : numpy.ndarray
        int64, shape ``(n_samples,)``, values in ``0 .. n_classes - 1``.
    n_classes : int
        Number of classes.
    name : str
        Dataset name (``"mnist"``, ``"yinyang"``, ``"digits"``).
    split : str
        ``"train"``, ``"test"``, ``"val"`` or ``"all"``.
    class_names : tuple of str
        One name per class.
    """

    x: np.ndarray
    y: np.ndarray
    n_classes: int
    name: str
    split: str
    class_names: tuple

    def __len__(self):
        return int(self.y.shape[0])

    @property
    def n_features(self):
        """Number of features (input units)."""
        return int(self.x.shape[1])

    def subset(self, index, split=None):
        """Return the samples at ``index`` (int array or slice) as a new :class:`LabelledData`."""
        return LabelledData(self.x[index], self.y[index], self.n_classes, self.name,
                            self.split if split is None else split, self.class_names)

    def class_counts(self):
        """Number of samples per class, shape ``(n_classes,)``."""
        return np.bincount(self.y, minlength=self.n_classes)


def dataset_shape(name):
    """Return ``(n_features, n_classes)`` of dataset ``name`` without loading it."""
    if name not in _SHAPES:
        raise input_error("dataset", f"one of {list(DATASET_NAMES)}", repr(name))
    return _SHAPES[name]


# --------------------------------------------------------------------------------------- IDX files
def _open_bytes(path):
    """Return the full (decompressed) contents of ``path``; gzip is detected by its magic bytes."""
    path = Path(path)
    if not path.is_file():
        raise DataMissingError(f"path: expected an existing IDX file; got {str(path)!r}, which does not exist.")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataFormatError(
                f"{path}: expected a valid gzip stream; got a truncated or corrupt one ({exc}). "
                "Download the file again (see synsem_ephys.train.datasets.download_mnist)."
            ) from exc
    return raw


def read_idx(path):
    """Read one IDX file (gzip-compressed or plain) into a numpy array.

    Parameters
    ----------
    path : str or path-like
        The file; gzip is recognised by its magic bytes, not by the name.

    Returns
    -------
    numpy.ndarray
        Array of the element type and dimensions given in the header (native byte order).

    Raises
    ------
    DataMissingError
        If the file does not exist.
    DataFormatError
        If the magic number, element type or length does not match the IDX format.
    """
    data = _open_bytes(path)
    if len(data) < 4:
        raise DataFormatError(f"{path}: expected an IDX header of at least 4 bytes; got {len(data)} bytes.")
    zero, code, ndim = data[0:2], data[2], data[3]
    if zero != b"\x00\x00" or code not in _IDX_DTYPES or ndim == 0:
        raise DataFormatError(
            f"{path}: expected an IDX magic number 0x0000TTDD (TT an element type in "
            f"{sorted(hex(c) for c in _IDX_DTYPES)}, DD >= 1 dimensions); got 0x{data[:4].hex()}. "
            "The file is not an IDX file (or is compressed with something other than gzip)."
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataFormatError(f"{path}: expected a {header}-byte header for {ndim} dimensions; got {len(data)} bytes.")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    got = len(data) - header
    if got != expected:
        what = "truncated" if got < expected else "has trailing bytes"
        raise DataFormatError(
            f"{path}: expected {expected} data bytes for dimensions {dims}; got {got} (the file {what}). "
            "Download the file again."
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def idx_md5(path, chunk_bytes=1 << 20):
    """MD5 hex digest of the *uncompressed* contents of ``path`` (gzip or plain)."""
    path = Path(path)
    if not path.is_file():
        raise DataMissingError(f"path: expected an existing file; got {str(path)!r}, which does not exist.")
    h = hashlib.md5()
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    opener = gzip.open if gz else open
    try:
        with opener(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(chunk_bytes), b""):
                h.update(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFormatError(f"{path}: expected a valid gzip stream; got a truncated or corrupt one ({exc}).") from exc
    return h.hexdigest()


def _check_md5(path, want, fix):
    """Raise DataFormatError (ending in ``fix``) unless the uncompressed contents of ``path`` have MD5 ``want``."""
    got = idx_md5(path)
    if got != want:
        raise DataFormatError(f"{path}: expected MD5 {want} of the uncompressed contents; got {got}. {fix}")
    return got


# ------------------------------------------------------------------------------------------- MNIST
def _repo_default_mnist():
    from .._files import data_root

    return data_root("mnist", use_env=False)


def mnist_dir(data_dir=None):
    """Resolve the directory holding the MNIST IDX files.

    Order: the argument ``data_dir``; the environment variable ``SYNSEM_MNIST_DIR``;
    ``$SYNSEM_DATA/mnist``; ``<repository>/../shared/data/mnist``.  The first candidate that is
    given is used if it is a directory; an explicitly given argument that does not exist is an error
    (it is never silently replaced by a fallback).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    DataMissingError
        Naming every place tried.
    """
    tried = []
    if data_dir is not None:
        p = Path(data_dir).expanduser()
        if p.is_dir():
            return p
        raise DataMissingError(
            f"data_dir: expected a directory with the MNIST IDX files; got {str(p)!r}, which is not a directory. "
            "Pass the directory that holds train-images-idx3-ubyte[.gz] etc."
        )
    env = os.environ.get("SYNSEM_MNIST_DIR")
    if env:
        tried.append(f"$SYNSEM_MNIST_DIR={env}")
        if Path(env).expanduser().is_dir():
            return Path(env).expanduser()
    else:
        tried.append("$SYNSEM_MNIST_DIR (unset)")
    env = os.environ.get("SYNSEM_DATA")
    if env:
        p = Path(env).expanduser() / "mnist"
        tried.append(f"$SYNSEM_DATA/mnist={p}")
        if p.is_dir():
            return p
    else:
        tried.append("$SYNSEM_DATA/mnist (SYNSEM_DATA unset)")
    p = _repo_default_mnist()
    tried.append(str(p))
    if p.is_dir():
        return p
    raise DataMissingError(
        "MNIST directory: expected one of " + "; ".join(tried) + " to be a directory; none is. "
        "Pass data_dir, set SYNSEM_MNIST_DIR, or fetch the files with synsem_ephys.train.datasets.download_mnist(dir)."
    )


def find_mnist_file(directory, stem):
    """Return the path of ``stem`` or ``stem + '.gz'`` inside ``directory`` (plain file preferred)."""
    directory = Path(directory)
    candidates = [directory / stem, directory / (stem + ".gz")]
    for c in candidates:
        if c.is_file():
            return c
    raise DataMissingError(
        f"MNIST file: expected one of {[str(c) for c in candidates]}; found neither. "
        "Put the four standard IDX files (gzip or not) in that directory."
    )


def verify_mnist(data_dir=None):
    """Check the four MNIST files against :data:`MNIST_MD5`.

    Returns
    -------
    dict
        ``{stem: md5}`` of the files checked.

    Raises
    ------
    DataMissingError, DataFormatError
        A file is missing, unreadable, or its checksum differs.
    """
    d = mnist_dir(data_dir)
    out = {}
    for stem, want in MNIST_MD5.items():
        out[stem] = _check_md5(find_mnist_file(d, stem), want,
                               "The file is corrupt or not the canonical MNIST; download it again.")
    return out


def load_mnist(split="train", data_dir=None, *, verify=False):
    """Load one MNIST split as flattened images in [0, 1].

    Parameters
    ----------
    split : {"train", "test"}
        60,000 training or 10,000 test images.
    data_dir : str or path-like, optional
        Directory with the IDX files; resolved by :func:`mnist_dir` when omitted.
    verify : bool
        Also check the MD5 checksums of the two files (reads them twice).

    Returns
    -------
    LabelledData
        ``x`` shape ``(n, 784)``, ``y`` shape ``(n,)``.
    """
    if split not in MNIST_FILES:
        raise input_error("split", f"one of {list(MNIST_FILES)}", repr(split))
    d = mnist_dir(data_dir)
    img_path, lab_path = (find_mnist_file(d, s) for s in MNIST_FILES[split])
    if verify:
        for stem, path in zip(MNIST_FILES[split], (img_path, lab_path)):
            _check_md5(path, MNIST_MD5[stem], "Download the file again.")
    images = read_idx(img_path)
    labels = read_idx(lab_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataFormatError(f"{img_path}: expected uint8 images of shape (n, 28, 28); got {images.dtype} {images.shape}.")
    if labels.dtype != np.uint8 or labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise DataFormatError(
            f"{lab_path}: expected {images.shape[0]} uint8 labels (one per image); got {labels.dtype} {labels.shape}."
        )
    if labels.size and labels.max() > 9:
        raise DataFormatError(f"{lab_path}: expected labels 0..9; got a maximum of {int(labels.max())}.")
    x = images.reshape(images.shape[0], -1).astype(np.float64) / 255.0
    return LabelledData(x, labels.astype(np.int64), 10, "mnist", split, tuple(str(i) for i in range(10)))


#: The MNIST test subset bundled with the package (the first 1,000 test images and labels, IDX + gzip).
MNIST_SUBSET_DIR = Path(__file__).resolve().parents[1] / "data" / "mnist_test_1000"

#: MD5 of the *uncompressed* bundled subset files (written by :func:`write_mnist_test_subset`).
MNIST_SUBSET_MD5 = {
    "t10k-images-idx3-ubyte": "bac4371a484d0b5651e81d99305acb5a",
    "t10k-labels-idx1-ubyte": "556860b2f10365a8f7444c1e79c7e9af",
}


def _idx_bytes(arr, code):
    """IDX encoding (header + big-endian row-major data) of ``arr`` with element type ``code``."""
    arr = np.ascontiguousarray(arr, dtype=_IDX_DTYPES[code])
    return bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def write_mnist_test_subset(dest, n=1000, data_dir=None):
    """Write the first ``n`` MNIST test images and labels as gzip IDX files into ``dest``.

    This is how the bundled subset (:data:`MNIST_SUBSET_DIR`) was made from the canonical files:
    ``write_mnist_test_subset(MNIST_SUBSET_DIR, 1000, "../shared/data/mnist")``. The gzip header
    carries no time stamp or name, so the same input gives the same bytes.

    Returns
    -------
    dict
        ``{stem: md5 of the uncompressed file}`` (compare with :data:`MNIST_SUBSET_MD5`).
    """
    if not (isinstance(n, numbers.Integral) and not isinstance(n, bool) and 1 <= n <= 10000):
        raise input_error("n", "a number of test images in 1..10000", repr(n))
    d = mnist_dir(data_dir)
    images, labels = (read_idx(find_mnist_file(d, s)) for s in MNIST_FILES["test"])
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    out = {}
    for stem, arr, code in zip(MNIST_FILES["test"], (images[:n], labels[:n]), (0x08, 0x08)):
        raw = _idx_bytes(arr, code)
        def write(fh, raw=raw):
            with gzip.GzipFile(filename="", mode="wb", fileobj=fh, compresslevel=9, mtime=0) as gz:
                gz.write(raw)

        write_atomic(dest / f"{stem}.gz", write)
        out[stem] = hashlib.md5(raw).hexdigest()
    return out


def load_mnist_test_subset(directory=None):
    """The MNIST test subset bundled with the package: the first 1,000 test images, checked by MD5.

    The main job (``synsem-ephys demo``) uses it so that the shipped MNIST network runs with no
    download. ``directory`` defaults to :data:`MNIST_SUBSET_DIR`.

    Returns
    -------
    LabelledData
        ``x`` shape ``(1000, 784)``, ``y`` shape ``(1000,)``, split ``"test"``.
    """
    d = MNIST_SUBSET_DIR if directory is None else Path(directory)
    for stem in MNIST_FILES["test"]:
        path = d / f"{stem}.gz"
        if not path.is_file():
            raise DataMissingError(f"directory: expected the bundled MNIST test subset file {path}; it is missing. "
                                   "Reinstall the package (or recreate it with write_mnist_test_subset).")
        _check_md5(path, MNIST_SUBSET_MD5[stem], "Reinstall the package.")
    return load_mnist("test", d)


def download_mnist(dest, *, base_url=_DEFAULT_MIRROR, overwrite=False, timeout_s=60.0):
    """Download the four gzip MNIST files into ``dest`` and verify their checksums.

    A convenience for users without a copy; the package and its tests never call it.  Each file is
    written to a temporary name, checked against :data:`MNIST_MD5`, then moved into place.

    Parameters
    ----------
    dest : str or path-like
        Target directory (created if needed).
    base_url : str
        URL prefix to which ``<stem>.gz`` is appended (``file://`` URLs work too).
    overwrite : bool
        Replace files that already exist and verify.
    timeout_s : float
        Network timeout per file.

    Returns
    -------
    pathlib.Path
        ``dest``.
    """
    dest = Path(dest).expanduser()
    dest.mkdir(parents=True, exist_ok=True)
    for stem, want in MNIST_MD5.items():
        target = dest / (stem + ".gz")
        if target.is_file() and not overwrite and idx_md5(target) == want:
            continue
        with urllib.request.urlopen(base_url + stem + ".gz", timeout=timeout_s) as resp:
            data = resp.read()  # ~10 MB at most: checked in memory, then written atomically
        try:
            got = hashlib.md5(gzip.decompress(data)).hexdigest()
        except (OSError, EOFError, zlib.error) as exc:
            got = f"no gzip data ({exc})"
        if got != want:
            raise DataFormatError(
                f"{base_url}{stem}.gz: expected MD5 {want} of the uncompressed contents; got {got}. "
                "Try another mirror (base_url)."
            )
        write_atomic(target, lambda fh, data=data: fh.write(data))
    return dest


# ---------------------------------------------------------------------------------------- Yin-Yang
def _yin_yang_class(x, y, r_small, r_big):
    d_left = np.hypot(x - 0.5 * r_big, y - r_big)
    d_right = np.hypot(x - 1.5 * r_big, y - r_big)
    dot = (d_left <= r_small) | (d_right <= r_small)
    yin = (d_left <= 0.5 * r_big) | ((y > r_big) & (d_right > 0.5 * r_big))
    return np.where(dot, 2, np.where(yin, 0, 1))


def yin_yang(n_samples, seed, *, r_small=0.1, r_big=0.5, bias=True, bias_value=1.0):
    """Generate the Yin-Yang dataset of Kriener et al. (2021).

    Parameters
    ----------
    n_samples : int
        Number of samples.
    seed : int or numpy.random.SeedSequence
        Seed of the ``numpy.random.Generator`` (same seed, same data).
    r_small, r_big : float
        Radii of the dots and of the whole symbol (defaults of the original: 0.1 and 0.5).
    bias : bool
        Append a constant bias feature (5 features instead of 4).
    bias_value : float
        Value of the bias feature in [0, 1] (1.0 encodes to the earliest input time).

    Returns
    -------
    LabelledData
        ``x`` columns ``(x, y, 1 - x, 1 - y[, bias])`` scaled to [0, 1] by ``2 r_big``;
        labels 0 = yin, 1 = yang, 2 = dot.
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 0:
        raise input_error("n_samples", "a non-negative int", repr(n_samples))
    if not (0 < r_small < 0.5 * r_big):
        raise input_error("r_small", f"0 < r_small < r_big / 2 = {0.5 * r_big}", r_small)
    if not 0.0 <= bias_value <= 1.0:
        raise input_error("bias_value", "a value in [0, 1]", bias_value)
    rng = np.random.default_rng(seed)
    goals = rng.integers(0, 3, size=n_samples)
    need = np.bincount(goals, minlength=3)
    pools = [[] for _ in range(3)]
    have = np.zeros(3, dtype=np.int64)
    # rejection sampling in blocks: uniform in the square, keep points inside the disc, sort by class
    while np.any(have < need):
        cand = rng.random((max(256, 2 * int(need.max())), 2)) * 2.0 * r_big
        cand = cand[np.hypot(cand[:, 0] - r_big, cand[:, 1] - r_big) <= r_big]
        cls = _yin_yang_class(cand[:, 0], cand[:, 1], r_small, r_big)
        for c in range(3):
            if have[c] < need[c]:
                take = cand[cls == c][: need[c] - have[c]]
                pools[c].append(take)
                have[c] += take.shape[0]
    pts = np.empty((n_samples, 2))
    for c in range(3):
        pts[goals == c] = np.concatenate(pools[c]) if pools[c] else np.empty((0, 2))
    labels = goals.astype(np.int64)
    u = pts / (2.0 * r_big)
    cols = [u[:, 0], u[:, 1], 1.0 - u[:, 0], 1.0 - u[:, 1]]
    if bias:
        cols.append(np.full(n_samples, float(bias_value)))
    x = np.stack(cols, axis=1) if n_samples else np.empty((0, 5 if bias else 4))
    return LabelledData(x, labels, 3, "yinyang", "all", ("yin", "yang", "dot"))


def load_yin_yang(split="train", seed=0, *, n_samples=None, **kwargs):
    """A Yin-Yang split with its own random stream: train (5,000 samples) or test (1,000).

    The split's generator is seeded with ``[seed, k]`` (k = 0 train, 1 test), so train and test are
    independent draws and each is reproducible.  Sizes follow Kriener et al.; ``n_samples``
    overrides them.  Other keyword arguments go to :func:`yin_yang`.
    """
    sizes = {"train": 5000, "test": 1000}
    if split not in sizes:
        raise input_error("split", f"one of {list(sizes)}", repr(split))
    n = sizes[split] if n_samples is None else n_samples
    data = yin_yang(n, np.random.SeedSequence([int(seed), list(sizes).index(split)]), **kwargs)
    return data.subset(slice(None), split=split)


# ------------------------------------------------------------------------------------------ digits
def load_digits(split="all", *, test_fraction=0.2, seed=0):
    """scikit-learn's bundled 8x8 digits, values scaled to [0, 1].

    Parameters
    ----------
    split : {"all", "train", "test"}
        The whole set (1,797 samples) or one side of a seeded, stratified split.
    test_fraction : float
        Fraction of each class that goes to the test side.
    seed : int
        Seed of the split.
    """
    if split not in ("all", "train", "test"):
        raise input_error("split", "one of ['all', 'train', 'test']", repr(split))
    if not 0.0 < test_fraction < 1.0:
        raise input_error("test_fraction", "a float in (0, 1)", test_fraction)
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError as exc:
        raise ImportError(
            "load_digits needs scikit-learn; install it with `pip install synsem-ephys[digits]`."
        ) from exc
    raw = _sk_load_digits()
    data = LabelledData(np.asarray(raw.data, dtype=np.float64) / 16.0, np.asarray(raw.target, dtype=np.int64),
                        10, "digits", "all", tuple(str(i) for i in range(10)))
    if split == "all":
        return data
    rng = np.random.default_rng(seed)
    test = np.zeros(len(data), dtype=bool)
    for c in range(10):
        idx = np.flatnonzero(data.y == c)
        test[rng.permutation(idx)[: int(round(test_fraction * idx.size))]] = True
    return data.subset(np.flatnonzero(test if split == "test" else ~test), split=split)


# ------------------------------------------------------------------------------------------ common
def load_dataset(name, split, *, data_dir=None, seed=0, n_samples=None):
    """Load ``split`` (``"train"`` or ``"test"``) of dataset ``name`` (see :data:`DATASET_NAMES`).

    ``data_dir`` is used by MNIST only, ``seed`` by Yin-Yang (data) and digits (split).
    ``n_samples`` keeps the first ``n_samples`` samples (MNIST, digits) or sets the generated size
    (Yin-Yang).
    """
    dataset_shape(name)
    if n_samples is not None and (isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer))
                                  or n_samples < 1):
        raise input_error("n_samples", "a positive int or None", repr(n_samples))
    if name == "yinyang":
        return load_yin_yang(split, seed, n_samples=n_samples)
    if split not in ("train", "test"):
        raise input_error("split", "one of ['train', 'test']", repr(split))
    data = load_mnist(split, data_dir) if name == "mnist" else load_digits(split, seed=seed)
    if n_samples is not None:
        data = data.subset(slice(0, int(n_samples)))
    return data


def split_validation(data, val_fraction, seed):
    """Split ``data`` into (train, validation) with a seeded permutation.

    Returns ``(data, None)`` when ``val_fraction`` is 0.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise input_error("val_fraction", "a float in [0, 1)", val_fraction)
    if val_fraction == 0.0:
        return data, None
    perm = np.random.default_rng(seed).permutation(len(data))
    n_val = max(1, int(round(val_fraction * len(data))))
    return data.subset(np.sort(perm[n_val:]), split="train"), data.subset(np.sort(perm[:n_val]), split="val")
