"""Command line of synsem_ephys: ``synsem-ephys {demo,simulate,analyze,train} ...``.

``demo`` is the main job of the README's quick start (:mod:`synsem_ephys.demo`): the shipped trained
network simulated on its test images, exported to NIX, analysed, ``OUT/report.html``. ``simulate``
prints the spike-time summary of every layer of a random Dale's-law network.

Errors: one line on stderr, ``synsem-ephys <command>: error: <flag>: expected ...; got ...``, naming the
flag the user typed (``--network``, ``--data-dir``, ``--config``, ``--out``, ...); no traceback unless
``--debug`` is given. Exit status: 0 success; 2 bad input (a wrong argument, a missing, unreadable or
corrupted input file, an output location that cannot be written: ValueError, SynsemError, missing files,
permissions); 1 a failure that is not the input's (a full disk, an error of a library, a bug); 130
interrupted. Mistyped ``SYNSEM_*`` environment variables, and known ones that name no directory, are
reported as warnings before the command runs.
"""

import argparse
import math
import sys

from .errors import DataMissingError, DiskFullError, SynsemError, input_error

__all__ = ["main", "build_parser", "ArgumentError", "EXIT_INPUT", "EXIT_FAILURE", "EXIT_INTERRUPTED"]

EXIT_INPUT = 2
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130


# ----------------------------------------------------------------------------------------- errors
class ArgumentError(SynsemError, ValueError):
    """A command-line argument is invalid (beyond what argparse checks)."""


def _argument_error(flag, expected, got):
    return input_error(flag, expected, got, cls=ArgumentError)


class _flags:
    """Inside the block, an error whose message starts with a library argument name in ``names``
    (``"path: ..."``) is re-labelled with the user's flag; with ``default``, any other message is prefixed
    with it. The first label wins (inner blocks are more specific)."""

    def __init__(self, names=None, default=None):
        self.names, self.default = dict(names or {}), default

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if isinstance(exc, Exception) and not hasattr(exc, "_cli_label"):
            text = " ".join(str(exc).split())
            for name in sorted(self.names, key=len, reverse=True):
                if text.startswith(name + ": "):
                    text = f"{self.names[name]}: {text[len(name) + 2:]}"
                    break
            else:
                if self.default is not None:
                    text = f"{self.default}: {text}"
                else:
                    return False
            try:
                exc._cli_label = text
            except AttributeError:  # an exception type without a __dict__: keep its own text
                pass
        return False


def _exit_code(exc):
    if isinstance(exc, DiskFullError):
        return EXIT_FAILURE
    if isinstance(exc, (SynsemError, ValueError, FileNotFoundError, FileExistsError, NotADirectoryError,
                        IsADirectoryError, PermissionError)):
        return EXIT_INPUT
    return EXIT_FAILURE


def _error_line(exc):
    text = getattr(exc, "_cli_label", None) or " ".join(str(exc).split()) or "(no message)"
    if isinstance(exc, SynsemError) or hasattr(exc, "_cli_label"):
        return text
    if _exit_code(exc) == EXIT_INPUT:
        return f"{type(exc).__name__}: {text}"
    return f"{type(exc).__name__}: {text} (a failure, not the input's: rerun with --debug for the traceback)"


# ----------------------------------------------------------------------------------------- argument types
def _int_at_least(lo):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {lo}; got {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"expected an integer >= {lo}; got {value}")
        return value

    parse.__name__ = f"integer >= {lo}"
    return parse


def _float(positive):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
        if not math.isfinite(value) or (positive and not value > 0) or (not positive and value < 0):
            raise argparse.ArgumentTypeError(f"expected a {'positive' if positive else 'non-negative'} finite number; "
                                             f"got {text!r}")
        return value

    parse.__name__ = "positive number" if positive else "non-negative number"
    return parse


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (the usage is one ``--help`` away)."""

    def error(self, message):
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _out_dir(path):
    """``--out`` created and checked writable before any work (a file, not creatable, read-only: one error)."""
    from .demo import _check_out_dir

    with _flags({"out_dir": "--out"}, default="--out"):
        return _check_out_dir(path)


def _existing_file(path, flag, what):
    from pathlib import Path

    p = Path(path)
    if not p.is_file():
        state = "a directory" if p.is_dir() else "which does not exist"
        raise input_error(flag, f"an existing {what} file", f"{str(p)!r}, {state}", cls=DataMissingError)
    return p


# ----------------------------------------------------------------------------------------- commands
def _summary(layer_times, spec):
    import numpy as np

    names = ["input"] + [f"hidden{k}" for k in range(1, len(spec.hidden) + 1)] + ["output"]
    lines = [f"{'layer':<9} {'units':>6} {'firing %':>9} {'median t (ms)':>14} {'IQR (ms)':>9}"]
    for name, t in zip(names, layer_times):
        fin = t[np.isfinite(t)]
        med = float(np.median(fin)) if fin.size else float("nan")
        iqr = float(np.subtract(*np.percentile(fin, [75, 25]))) if fin.size else float("nan")
        lines.append(f"{name:<9} {t.shape[1]:>6} {100 * np.isfinite(t).mean():>9.1f} {med:>14.3f} {iqr:>9.3f}")
    return "\n".join(lines)


def cmd_simulate(args):
    import numpy as np
    import torch

    from .encoding import LatencyCode
    from .sim import Network
    from .spec import NetworkSpec

    if args.n_exc + args.n_inh < 1:
        raise _argument_error("--n-exc/--n-inh", "at least one unit per hidden layer", f"{args.n_exc} + {args.n_inh}")
    with _flags({"tau_mem_ms / tau_syn_ms": "--tau-mem-ms / --tau-syn-ms", "tau_syn_ms": "--tau-syn-ms",
                 "tau_mem_ms": "--tau-mem-ms", "n_inputs": "--n-inputs", "n_outputs": "--n-outputs"}):
        spec = NetworkSpec(args.n_inputs, hidden=tuple((args.n_exc, args.n_inh) for _ in range(args.layers)),
                           n_outputs=args.n_outputs, tau_syn_ms=args.tau_syn_ms, tau_mem_ms=args.tau_mem_ms)
    g = np.random.default_rng(args.seed)
    x = torch.tensor(g.uniform(0.0, 1.0, size=(args.trials, args.n_inputs)))
    t_in = LatencyCode(spec.tau_syn_ms).encode(x)
    net = Network(spec, seed=args.seed)
    net.calibrate_(t_in[: min(200, args.trials)])
    with torch.no_grad():
        out = [t_in.numpy()] + [o.numpy() for o in net(t_in)]
    print(f"Simulated {args.trials} trials of {spec.layer_sizes} (Dale's law, tau_syn {spec.tau_syn_ms} ms, "
          f"tau_mem {spec.tau_mem_ms} ms), exact first-spike times:")
    print(_summary(out, spec))
    return 0


def cmd_demo(args):
    from .demo import run_demo

    with _flags({"network": "--network", "data_dir": "--data-dir", "n_trials": "--n-trials", "out_dir": "--out"}):
        res = run_demo(args.out, network=args.network, data_dir=args.data_dir, n_trials=args.n_trials,
                       progress=not args.no_progress)
    rep = res.report
    recorded = "" if res.shipped_accuracy is None else f" (recorded at training: {res.shipped_accuracy:.4f})"
    print(f"network: {res.network_path.name} ({res.dataset}); {res.n_trials} test images, accuracy "
          f"{res.accuracy:.4f}{recorded}")
    for check in rep.result.checks:
        verdict = {True: "shown", False: "NOT shown", None: "undecided"}[check.passed]
        print(f"  {check.name}: {verdict} - {check.detail or check.statement}")
    print(f"recording: {res.nix_path}\nreport: {rep.html}\nsummary: {rep.summary}")
    return 0


def cmd_analyze(args):
    from .report import ReportOptions, analyze_file

    _existing_file(args.recording, "recording", "recording (.nix or .nwb)")
    if args.active is not None and not 0 <= args.active[0] < args.active[1]:
        raise _argument_error("--active", "START_MS STOP_MS with 0 <= START_MS < STOP_MS",
                          " ".join(f"{v:g}" for v in args.active))
    weights = signs = None
    if args.network:
        from .sim import Network

        _existing_file(args.network, "--network", "network (Network.save)")
        with _flags({"path": "--network", "network": "--network"}, default="--network"):
            net = Network.load(args.network)
        weights, signs = net.weights_numpy()
    _out_dir(args.out)
    options = None
    min_spikes = 1 if args.min_spikes is None else args.min_spikes
    if args.active is not None:
        options = ReportOptions(active=tuple(args.active), packet=tuple(args.active), min_spikes=min_spikes)
    elif args.min_spikes is not None:  # given alone: applied to the default definitions, never ignored
        options = ReportOptions(min_spikes=min_spikes)
    with _flags({"path": "recording", "out_dir": "--out"}):
        rep = analyze_file(args.recording, args.out, weights=weights, signs=signs, options=options,
                           progress=not args.no_progress)
    print(f"report: {rep.html}\nsummary: {rep.out_dir / 'summary.json'}")
    return 0


def cmd_train(args):
    from pathlib import Path

    from .train import train_from_config
    from .train.config import load_config
    from .train.trainer import CHECKPOINT_NAME, NETWORK_NAME

    if args.allow_schedule_change and not args.resume:
        raise _argument_error("--allow-schedule-change", "together with --resume", "it alone")
    with _flags({"config": "--config", "path": "--config"}, default="--config"):
        config = load_config(args.config)
    _out_dir(args.out)
    with _flags({"out_dir": "--out", "device": "--device", "resume": "--resume"}):
        res = train_from_config(config, args.out, resume=args.resume, progress=not args.no_progress,
                                allow_schedule_change=args.allow_schedule_change, device=args.device)
    last = res.final
    if last is not None:
        print(f"epoch {last.epoch}: train loss {last.train_loss:.4f}, train accuracy {last.train_accuracy:.4f}, "
              f"validation accuracy {last.val_accuracy:.4f}")
    print(f"test loss {res.test_loss:.4f}, test accuracy {res.test_accuracy:.4f} ({res.config.dataset}, "
          f"{len(res.history)} epochs, {res.resumed_from_epoch} done before this call)")
    out = Path(args.out)
    print(f"network: {out / NETWORK_NAME}\ncheckpoint: {out / CHECKPOINT_NAME}\nmetrics: {out / 'metrics.json'}")
    return 0


def build_parser():
    p = _Parser(prog="synsem-ephys", description="Trained spiking networks studied like brains.")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = p.add_subparsers(dest="command", required=True)

    def common(q):
        q.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback of an error")

    def sim_args(q):
        q.add_argument("--trials", type=_int_at_least(1), default=200)
        q.add_argument("--n-inputs", type=_int_at_least(1), default=100)
        q.add_argument("--layers", type=_int_at_least(1), default=4)
        q.add_argument("--n-exc", type=_int_at_least(0), default=300)
        q.add_argument("--n-inh", type=_int_at_least(0), default=100)
        q.add_argument("--n-outputs", type=_int_at_least(1), default=10)
        q.add_argument("--tau-syn-ms", type=_float(positive=True), default=5.0)
        q.add_argument("--tau-mem-ms", type=_float(positive=True), default=10.0)
        q.add_argument("--seed", type=_int_at_least(0), default=0)

    q = sub.add_parser("simulate", help="simulate a Dale's-law network on random latency-coded inputs")
    sim_args(q)
    common(q)
    q.set_defaults(func=cmd_simulate)
    q = sub.add_parser("demo", help="the main job: the shipped trained network recorded, exported to NIX and "
                                    "analysed -> OUT/report.html (no download, no GPU)")
    q.add_argument("--out", default="demo_out", help="output directory (default: demo_out)")
    q.add_argument("--network", help="a trained network file (Network.save by the trainer); default: the shipped one")
    q.add_argument("--data-dir", help="MNIST directory: use its whole test split (default: the 1,000 MNIST test "
                                      "images bundled with the package)")
    q.add_argument("--n-trials", type=_int_at_least(1), help="use only the first N test images")
    q.add_argument("--no-progress", action="store_true")
    common(q)
    q.set_defaults(func=cmd_demo)
    q = sub.add_parser("analyze", help="all analyses of a recording (.nix from synsem_ephys, or .nwb) -> OUT/report.html")
    q.add_argument("recording")
    q.add_argument("--out", required=True)
    q.add_argument("--network", help="network file (Network.save) for the pathway analysis")
    q.add_argument("--active", type=_float(positive=False), nargs=2, metavar=("START_MS", "STOP_MS"),
                   help="response window in ms after trial start that defines 'active' (in-vivo data)")
    q.add_argument("--min-spikes", type=_int_at_least(1), default=None,
                   help="selected spikes needed to be active (default 1)")
    q.add_argument("--no-progress", action="store_true")
    common(q)
    q.set_defaults(func=cmd_analyze)
    q = sub.add_parser("train", help="train a network from a YAML config (or a bundled name: mnist_dale, yinyang)")
    q.add_argument("--config", required=True)
    q.add_argument("--out", required=True, help="output directory (checkpoints, network, metrics)")
    q.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    q.add_argument("--allow-schedule-change", action="store_true",
                   help="with --resume: the config may change lr, lr_step_epochs, lr_gamma, input_noise_ms and augment_shift_px for "
                        "the remaining epochs (the history keeps each epoch's rate and noise)")
    q.add_argument("--device", default="cpu",
                   help="cpu (default) or cuda; a checkpoint from one device resumes on the other")
    q.add_argument("--no-progress", action="store_true")
    common(q)
    q.set_defaults(func=cmd_train)
    return p


def main(argv=None):
    """Run the command line; returns the exit status (see the module docstring)."""
    from ._files import disk_full_error, environment_problems

    args = build_parser().parse_args(argv)
    prog = f"synsem-ephys {args.command}"
    for problem in environment_problems():
        print(f"{prog}: warning: {problem}", file=sys.stderr)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - every error becomes one line (the traceback with --debug)
        if args.debug:
            raise
        if isinstance(exc, OSError) and not isinstance(exc, SynsemError):  # e.g. a figure's savefig on a full disk
            exc = disk_full_error(exc, exc.filename or getattr(args, "out", None) or ".") or exc
        print(f"{prog}: error: {_error_line(exc)}", file=sys.stderr)
        return _exit_code(exc)


if __name__ == "__main__":
    sys.exit(main())
