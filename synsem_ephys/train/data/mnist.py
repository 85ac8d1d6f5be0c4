"""MNIST: lookup of the IDX files, verification, loading, the bundled test subset, download.

The four IDX files of LeCun, Cortes & Burges (gzip-compressed or plain) are read from a directory
resolved by :func:`mnist_dir`.  See :mod:`synsem_ephys.train.data.idx` for the file format.

Pixels are scaled ``x = pixel / 255``.  :func:`verify_mnist` compares the MD5 of the *uncompressed*
contents with the canonical values (:data:`MNIST_MD5`).  :func:`download_mnist` is a convenience for
users; nothing in the package or its tests depends on the network.
"""

import gzip
import hashlib
import numbers
import os
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from ..._files import write_atomic
from ...errors import DataFormatError, DataMissingError, input_error
from .base import LabelledData
from .idx import _check_md5, idx_bytes, idx_md5, read_idx

__all__ = ["MNIST_FILES", "MNIST_MD5", "mnist_dir", "find_mnist_file", "verify_mnist", "load_mnist", "download_mnist",
           "MNIST_SUBSET_DIR", "MNIST_SUBSET_MD5", "load_mnist_test_subset", "write_mnist_test_subset"]

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

_DEFAULT_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"


def _repo_default_mnist():
    from ..._files import data_root

    return data_root("mnist", use_env=False)


def mnist_dir(data_dir=None):
    """Resolve the directory holding the MNIST IDX files.

    Order: the argument ``data_dir``; the environment variable ``SYNSEM_MNIST_DIR``;
    ``$SYNSEM_DATA/mnist``; ``<repository>/../shared/data/mnist``.  The first candidate that is
    given (the argument, or a variable that is set) is used if it is a directory and is an error otherwise:
    it is never silently replaced by a later candidate.

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
    if env:  # a variable the user set is as explicit as the argument: never replaced by a later candidate
        p = Path(env).expanduser()
        if p.is_dir():
            return p
        raise DataMissingError(
            f"environment variable SYNSEM_MNIST_DIR: expected a directory with the MNIST IDX files; got {env!r}, "
            "which is not a directory. Set it to the directory holding train-images-idx3-ubyte[.gz] etc., or unset it."
        )
    tried.append("$SYNSEM_MNIST_DIR (unset)")
    env = os.environ.get("SYNSEM_DATA")
    if env:
        p = Path(env).expanduser() / "mnist"
        if p.is_dir():
            return p
        raise DataMissingError(
            f"environment variable SYNSEM_DATA: expected a directory with an mnist/ folder of the MNIST IDX files; "
            f"got {env!r}, where {str(p)!r} is not a directory. Put the files there, set SYNSEM_MNIST_DIR to "
            "where they are, or fetch them with synsem_ephys.train.data.download_mnist(dir)."
        )
    tried.append("$SYNSEM_DATA/mnist (SYNSEM_DATA unset)")
    p = _repo_default_mnist()
    tried.append(str(p))
    if p.is_dir():
        return p
    raise DataMissingError(
        "MNIST directory: expected one of " + "; ".join(tried) + " to be a directory; none is. "
        "Pass data_dir, set SYNSEM_MNIST_DIR, or fetch the files with synsem_ephys.train.data.download_mnist(dir)."
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
MNIST_SUBSET_DIR = Path(__file__).resolve().parents[2] / "data" / "mnist_test_1000"

#: MD5 of the *uncompressed* bundled subset files (written by :func:`write_mnist_test_subset`).
MNIST_SUBSET_MD5 = {
    "t10k-images-idx3-ubyte": "bac4371a484d0b5651e81d99305acb5a",
    "t10k-labels-idx1-ubyte": "556860b2f10365a8f7444c1e79c7e9af",
}


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
        raw = idx_bytes(arr, code)
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
