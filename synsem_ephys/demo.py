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
4. export the recording as a Neo Block to ``OUT/recording.nix``, read it back from the file and check that
   it gives back the simulated recording bit for bit (spikes, unit and trial tables, events, meta);
5. run every analysis on that recording and write ``OUT/report.html``, ``OUT/summary.json``,
   the figures and ``OUT/pathways.graphml`` (:func:`synsem_ephys.report.write_report`); ``summary.json``
   holds the time of each phase under ``"demo_seconds"``.

Steps 4 and 5 run at the same time where the platform can fork (Linux): a child process writes and reads
the file while this one analyses the simulated record, put in the file's spike order (by unit, trial, time),
so that once the check has passed the analyses are exactly those of the file's recording (on 2 cores the
demo then takes about the time of the longer of the two instead of their sum). If the file's recording
differs, the demo fails with a DataFormatError naming what differs.

Nothing is downloaded and no GPU is used.
"""

import numbers
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._files import _FORK_OK
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
        Wall-clock time per step: ``load``, ``simulate``, ``report``, ``nix`` (= ``nix_write`` + ``nix_read`` +
        the comparison, in the child while the report ran), ``nix_wait`` (waited for it after the report)
        and ``total``.
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


def run_demo(out_dir="demo_out", *, network=None, data_dir=None, n_trials=None, progress=True, delays_in_meta=True):
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
    delays_in_meta : bool
        For a network with delays: keep its delays in the recording's provenance (``meta["delays_ms"]``, in
        ``recording.nix``; about 20 bytes per delay, :meth:`Network.record`). False leaves them out of the file;
        the report then takes them from the network. Either way the report gets the network at initialisation
        when the network file names one (:func:`synsem_ephys.train.initial_network`).

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
    t0 = t_start = time.perf_counter()
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
        record = net.record(torch.as_tensor(t_in), labels=labels, delays_in_meta=delays_in_meta,
                            meta={"dataset": cfg.dataset, "network_file": path.name,
                                  "label_names": [str(k) for k in range(net.spec.n_outputs)]})
    acc = float(np.mean(record.trials.prediction == labels))
    seconds["simulate"] = time.perf_counter() - t0

    nix_path = out / "recording.nix"
    record = _in_file_order(record)
    concurrent = _FORK_OK
    say(f"[3/4] accuracy {acc:.4f}; writing the Neo Block to {nix_path} and reading it back"
        + (" (in a child process, beside the analyses) ..." if concurrent else " ..."))
    t0 = time.perf_counter()
    trip = _RoundTrip(record, nix_path, concurrent)
    try:
        t1 = time.perf_counter()
        say("[4/4] analyses (dispersion, pulse packets, information gain, pathways, Elephant) and report ...")
        weights, signs = net.weights_numpy()
        delay_kw = {}
        if len(net.delay_theta):
            from .train.trainer import initial_network, initial_null

            try:
                init = initial_network(path, network=net)
            except DataMissingError as exc:  # a network file moved without its network_init.pt: no third null
                say(f"warning: {exc} The report leaves the initial null out.")
                init = None
            delay_kw = {"delays": None if delays_in_meta else net.delays_numpy(),
                        "initial": None if init is None else initial_null(init, extra["initial_network_file"]["path"])}
        rep = write_report(record, out, weights=weights, signs=signs, accuracy=acc, progress=progress, **delay_kw)
        seconds["report"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        nix_seconds = trip.result()
    finally:
        trip.stop()
    seconds["nix_wait"] = time.perf_counter() - t2
    seconds.update(nix_seconds)
    seconds["total"] = time.perf_counter() - t_start
    say(f"the recording read back from {nix_path.name} equals the simulated one (write {seconds['nix_write']:.1f} s, "
        f"read {seconds['nix_read']:.1f} s" + (f", {seconds['nix_wait']:.1f} s waited for after the report)"
                                              if concurrent else ")"))
    _add_demo_seconds(rep.summary, seconds)
    return DemoResult(path, cfg.dataset, len(labels), acc, extra.get("test_accuracy"), nix_path, rep, seconds)


def _in_file_order(record):
    """``record`` with its spikes in the order a NIX file gives them back (by unit, trial, time)."""
    from dataclasses import replace

    o = record.order_by_unit()
    return replace(record, times_ms=record.times_ms[o], unit_index=record.unit_index[o],
                   trial_index=record.trial_index[o])


def _differences(a, b):
    """What differs between two SpikeRecords, bit for bit and dtype for dtype (empty list: identical)."""
    from dataclasses import fields

    from .io.layout import record_checksum

    out = []
    for name in ("times_ms", "unit_index", "trial_index"):
        x, y = getattr(a, name), getattr(b, name)
        if x.dtype != y.dtype or not np.array_equal(x, y):
            out.append(name)
    for tab in ("units", "trials"):
        ta, tb = getattr(a, tab), getattr(b, tab)
        for f in [f.name for f in fields(ta) if f.name != "columns"]:
            x, y = np.asarray(getattr(ta, f)), np.asarray(getattr(tb, f))
            if x.dtype != y.dtype or not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
                out.append(f"{tab}.{f}")
        if sorted(ta.columns) != sorted(tb.columns):
            out.append(f"{tab}.columns")
    if a.trial_duration_ms != b.trial_duration_ms:
        out.append("trial_duration_ms")
    if a.meta != b.meta:
        out.append("meta")
    if record_checksum(a) != record_checksum(b):  # also events, signals and the extra columns
        out.append("checksum")
    return out


def _round_trip(record, nix_path):
    """Write ``record`` to ``nix_path``, read it back from the file and compare: the seconds of each part."""
    from .io import read_nix_record, write_nix

    t0 = time.perf_counter()
    write_nix(record, nix_path)
    t1 = time.perf_counter()
    back = read_nix_record(nix_path)
    t2 = time.perf_counter()
    diff = _differences(record, back)
    if diff:
        raise DataFormatError(f"{nix_path}: the recording read back from the file differs from the simulated one "
                              f"in {', '.join(diff)}; the NIX writer or reader is broken (please report it).")
    return {"nix_write": t1 - t0, "nix_read": t2 - t1, "nix": time.perf_counter() - t0}


def _round_trip_child(record, nix_path, conn):  # pragma: no cover - runs in the child process
    try:
        msg = ("ok", _round_trip(record, nix_path))
    except BaseException as exc:  # noqa: BLE001 - every error goes back to the parent
        msg = ("error", exc)
    try:
        conn.send(msg)
    except Exception:  # noqa: BLE001 - an exception that does not pickle goes back as its text
        conn.send(("error", RuntimeError(f"{type(msg[1]).__name__}: {msg[1]}")))
    conn.close()


class _RoundTrip:
    """The NIX round trip, in a forked child process while this one runs the analyses (``concurrent``), or here.

    The child works on a copy of the record (fork, no pickling); it writes the file atomically, reads it back
    with :func:`~synsem_ephys.io.read_nix_record` and compares the two records (:func:`_differences`). The
    analyses run on the simulated record in the file's spike order, so when the two are identical they are
    the analyses of the file's recording.
    """

    def __init__(self, record, nix_path, concurrent):
        self._proc = self._conn = self._done = None
        if not concurrent:
            self._done = _round_trip(record, nix_path)
            return
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self._conn, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_round_trip_child, args=(record, nix_path, send), daemon=True)
        self._proc.start()
        send.close()

    def result(self):
        if self._done is not None:
            return self._done
        try:
            kind, payload = self._conn.recv()
        except EOFError:
            self._proc.join()
            raise WriteError(f"the process writing and reading the NIX file ended without a result "
                             f"(exit code {self._proc.exitcode})") from None
        self._proc.join()
        if kind == "error":
            raise payload
        self._done = payload
        return payload

    def stop(self):
        """End the child if it still runs (after an error or an interruption here)."""
        if self._proc is not None and self._proc.is_alive() and self._done is None:
            self._proc.kill()
            self._proc.join()
        if self._conn is not None:
            self._conn.close()


def _add_demo_seconds(summary_path, seconds):
    """Add the demo's per-phase wall times to ``summary.json`` (key ``"demo_seconds"``)."""
    import json

    from ._files import json_dumps, write_text_atomic

    summary = json.loads(Path(summary_path).read_text())
    summary["demo_seconds"] = {k: round(float(v), 3) for k, v in seconds.items()}
    write_text_atomic(summary_path, json_dumps(summary, indent=1, allow_nan=False))
