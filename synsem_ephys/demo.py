"""The main job (``synsem-ephys demo``): a shipped trained network recorded like a brain and analysed.

Steps, each reported on stderr:

1. load the embedded default network (or ``network=PATH``): the pretrained 784-4x(300E+100I)-10 MNIST
   network ``synsem_ephys/data/mnist_dale.pt`` (in an installation without it or its bundled test
   images, the digits network ``synsem_ephys/data/digits_dale.pt``; see ``data/README.md``);
2. encode its test images with the network's own training config (latency code) — the digits come
   with scikit-learn; MNIST images are the first 1,000 of the test split, bundled in
   ``synsem_ephys/data/mnist_test_1000/`` (:func:`~synsem_ephys.train.data.load_mnist_test_subset`),
   or the whole test split from ``data_dir``;
3. simulate exactly and record every layer (:meth:`Network.record`);
4. export the recording as a Neo Block to ``OUT/recording.nix`` and read it back from the file;
5. run every analysis on the file's recording and write ``OUT/report.html``, ``OUT/summary.json``,
   the figures and ``OUT/pathways.graphml`` (:func:`synsem_ephys.report.write_report`).

Nothing is downloaded and no GPU is used.
"""

import numbers
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataFormatError, DataMissingError, WriteError, input_error

__all__ = ["DemoResult", "run_demo", "shipped_network_path", "SHIPPED_NETWORKS"]

DATA_DIR = Path(__file__).resolve().parent / "data"
#: Shipped networks in order of preference: the first one present is the embedded default.
SHIPPED_NETWORKS = ("mnist_dale.pt", "digits_dale.pt")


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` produced.

    Attributes
    ----------
    network_path : Path
    dataset : str
        ``"mnist"`` or ``"digits"``.
    n_trials : int
        Test images simulated (one trial each).
    accuracy : float
        Fraction of trials whose earliest output spike is the label's unit.
    shipped_accuracy : float or None
        The test accuracy recorded beside the network when it was trained.
    nix_path : Path
    report : synsem_ephys.report.Report
    seconds : dict
        Wall-clock time per step.
    """

    network_path: Path
    dataset: str
    n_trials: int
    accuracy: float
    shipped_accuracy: object
    nix_path: Path
    report: object
    seconds: dict


def _shipped_paths():
    """The shipped network files present, in order of preference."""
    return [DATA_DIR / name for name in SHIPPED_NETWORKS if (DATA_DIR / name).is_file()]


def shipped_network_path():
    """Path of the embedded default network (see :data:`SHIPPED_NETWORKS`)."""
    present = _shipped_paths()
    if present:
        return present[0]
    raise DataMissingError(
        f"network: expected a shipped network ({' or '.join(SHIPPED_NETWORKS)}) in {DATA_DIR}; got none. "
        "Reinstall the package, or pass a trained network file (network=PATH / --network PATH)."
    )


def _named(argument, exc):
    """``exc`` (same class) with its message naming ``argument``: ``"path: ..."`` becomes ``"argument: ..."``."""
    msg = str(exc)
    for prefix in ("path: ", "data_dir: ", "directory: "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
            break
    try:
        return type(exc)(f"{argument}: {msg}")
    except TypeError:  # an exception class that wants other arguments: keep it as it is
        return exc


def _check_out_dir(out_dir):
    """Create ``out_dir`` (with parents) and check it can be written, before any work is done."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise input_error("out_dir", "a directory (created if missing)", f"{out}, which is a file",
                          "Choose a directory for the outputs.", cls=WriteError)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise input_error("out_dir", "a directory that can be created", f"{out} ({exc.strerror or exc})",
                          "Choose another output directory.", cls=WriteError) from exc
    if not os.access(out, os.W_OK | os.X_OK):
        raise input_error("out_dir", "a directory you may write to", f"{out} (read-only or permission denied)",
                          "Choose another output directory.", cls=WriteError)
    return out


def _test_inputs(cfg, n_trials, data_dir):
    """Latency-coded test split of the network's dataset: (input times in ms, labels)."""
    from .train.data import load_digits, load_mnist, load_mnist_test_subset
    from .encoding import LatencyCode

    if data_dir is not None and cfg.dataset != "mnist":
        raise input_error("data_dir", "an MNIST network to use the MNIST directory with",
                          f"a network trained on {cfg.dataset!r}", "Drop data_dir (--data-dir) for this network.")
    if cfg.dataset == "digits":
        data = load_digits("test", seed=cfg.data_seed)
    elif cfg.dataset == "mnist":
        # The bundled 1,000-image subset unless a directory with the full test split is named.
        if data_dir is None:
            data = load_mnist_test_subset()
        else:
            try:
                data = load_mnist("test", data_dir)
            except (DataMissingError, DataFormatError) as exc:
                raise _named("data_dir", exc) from exc
    else:
        raise input_error("network", "a network trained on 'mnist' or 'digits' (its stored config says which)",
                          cfg.dataset)
    x, y = data.x, data.y
    if n_trials is not None:
        x, y = x[: int(n_trials)], y[: int(n_trials)]
    t = LatencyCode.from_config(cfg).encode(x)
    return np.asarray(t, dtype=np.float64), np.asarray(y, dtype=np.int64)


def run_demo(out_dir="demo_out", *, network=None, data_dir=None, n_trials=None, progress=True):
    """Run the main job and write its report; returns a :class:`DemoResult`.

    Parameters
    ----------
    out_dir : str or path-like
        Created if missing; ``recording.nix``, ``report.html``, ``summary.json``, figures.
    network : str or path-like, optional
        A network file written by :meth:`Network.save` whose ``extra["config"]`` holds its training
        config (as written by the trainer); default: the shipped network.
    data_dir : str or path-like, optional
        For an MNIST network: a directory with the MNIST test files, whose whole test split (10,000
        images) is then used; default: the 1,000 test images bundled with the package. Given, it is never
        replaced: a directory that does not exist or lacks the files, or a network not trained on MNIST, is
        an error naming ``data_dir`` (the shipped digits network is not used instead).
    n_trials : int, optional
        Use only the first ``n_trials`` of those test images (default: all of them).
    progress : bool
        Step lines on stderr and the report's progress.

    Raises
    ------
    DataMissingError, DataFormatError
        A missing or unreadable ``network`` or ``data_dir`` (the message names which).
    WriteError
        ``out_dir`` is a file, cannot be created or is not writable (checked before any work), or the
        disk fills up (DiskFullError) while the outputs are written.
    """
    if n_trials is not None and not (isinstance(n_trials, numbers.Integral) and not isinstance(n_trials, bool)
                                     and n_trials >= 1):
        raise input_error("n_trials", "a positive number of test images", n_trials)
    if data_dir is not None and not Path(data_dir).expanduser().is_dir():
        raise input_error("data_dir", "a directory with the MNIST test files (t10k-images-idx3-ubyte[.gz], "
                          "t10k-labels-idx1-ubyte[.gz])", f"{str(data_dir)!r}, which is not a directory",
                          "Pass the MNIST directory, or drop data_dir (--data-dir) to use the bundled test images.",
                          cls=DataMissingError)
    out = _check_out_dir(out_dir)
    import torch

    from .io import read_nix_record, write_nix
    from .report import write_report
    from .sim import Network
    from .train.config import TrainConfig

    def say(msg):
        if progress:
            print(msg, file=sys.stderr, flush=True)

    def open_network(path):
        if not path.is_file():
            raise DataMissingError(f"network: expected a network file written by Network.save; got {str(path)!r}, "
                                   "which does not exist.")
        try:
            net = Network.load(path)
        except (DataMissingError, DataFormatError) as exc:
            raise _named("network", exc) from exc
        extra = getattr(net, "extra", {}) or {}
        if "config" not in extra:
            raise input_error("network", "a network saved by the trainer (extra['config'] holds its training "
                              "config)", f"{path} without a stored config")
        cfg = TrainConfig.from_dict(extra["config"])
        return net, extra, cfg, _test_inputs(cfg, n_trials, data_dir)

    seconds = {}
    t0 = time.perf_counter()
    if network is not None:
        path = Path(network)
        net, extra, cfg, (t_in, labels) = open_network(path)
    elif data_dir is not None:  # an explicit data_dir is for the default MNIST network: never another network
        path = shipped_network_path()
        net, extra, cfg, (t_in, labels) = open_network(path)
    else:  # the shipped networks in order of preference; one whose bundled test images are missing is skipped
        shipped = _shipped_paths() or [shipped_network_path()]  # the latter raises the explanatory error
        for k, path in enumerate(shipped):
            try:
                net, extra, cfg, (t_in, labels) = open_network(path)
                break
            except DataMissingError as exc:
                if k + 1 == len(shipped):
                    raise
                say(f"{path.name}: its test images are not available ({exc}); using {shipped[k + 1].name} instead")
    say(f"[1/4] network {path.name}: {net.spec.layer_sizes}, Dale's law {net.spec.dale}, trained on {cfg.dataset}"
        + (f" (test accuracy {extra['test_accuracy']:.4f} recorded at training)" if "test_accuracy" in extra else ""))
    seconds["load"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    say(f"[2/4] simulating {len(labels)} test images exactly ...")
    with torch.no_grad():
        record = net.record(torch.as_tensor(t_in), labels=labels,
                            meta={"dataset": cfg.dataset, "network_file": path.name,
                                  "label_names": [str(k) for k in range(net.spec.n_outputs)]})
    acc = float(np.mean(record.trials.prediction == labels))
    seconds["simulate"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    nix_path = out / "recording.nix"
    say(f"[3/4] accuracy {acc:.4f}; writing the Neo Block to {nix_path} and reading it back ...")
    write_nix(record, nix_path)
    back = read_nix_record(nix_path)
    seconds["nix"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    say("[4/4] analyses (dispersion, pulse packets, information gain, pathways, Elephant) and report ...")
    weights, signs = net.weights_numpy()
    rep = write_report(back, out, weights=weights, signs=signs, accuracy=acc, progress=progress)
    seconds["report"] = time.perf_counter() - t0
    return DemoResult(path, cfg.dataset, len(labels), acc, extra.get("test_accuracy"), nix_path, rep, seconds)
