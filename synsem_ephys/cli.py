"""Command line of synsem_ephys: ``synsem-ephys {demo,simulate,analyze,sweep,train} ...``.

``analyze FILE [FILE ...] --jobs N --executor process|mpi|dask`` writes one report per recording and a
combined table; its exit status is the number of files that failed (at most 100). ``sweep CONFIG --seeds
0-9`` trains one resumable job per seed and setting; ``--threads N`` sets the compute threads.

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
                       progress=not args.no_progress, delays_in_meta=not args.no_delays_in_meta)
    rep = res.report
    recorded = "" if res.shipped_accuracy is None else f" (recorded at training: {res.shipped_accuracy:.4f})"
    print(f"network: {res.network_path.name} ({res.dataset}); {res.n_trials} test images, accuracy "
          f"{res.accuracy:.4f}{recorded}")
    for check in rep.result.checks:
        verdict = {True: "shown", False: "NOT shown", None: "undecided"}[check.passed]
        print(f"  {check.name}: {verdict} - {check.detail or check.statement}")
    print(f"recording: {res.nix_path}\nreport: {rep.html}\nsummary: {rep.summary}")
    sec = res.seconds
    print("seconds: " + ", ".join(f"{k} {sec[k]:.1f}" for k in ("load", "simulate", "report", "nix_write", "nix_read",
                                                                "nix_wait", "total") if k in sec)
          + " (the NIX round trip runs beside the report; summary.json: demo_seconds)")
    return 0


def _report_options(args):
    """ReportOptions from the analysis flags (None: the defaults)."""
    from .report import ReportOptions

    if args.active is not None and not 0 <= args.active[0] < args.active[1]:
        raise _argument_error("--active", "START_MS STOP_MS with 0 <= START_MS < STOP_MS",
                              " ".join(f"{v:g}" for v in args.active))
    change = {}
    if args.active is not None:
        change.update(active=tuple(args.active), packet=tuple(args.active))
    if args.min_spikes is not None:  # given alone: applied to the default definitions, never ignored
        change["min_spikes"] = args.min_spikes
    if args.min_active_trials is not None:
        change["min_active_trials"] = args.min_active_trials
    if args.label_column is not None:
        change["labels"] = args.label_column
    return ReportOptions(**change) if change else None


def _read_options(args):
    """read_recording options from --trials, --align, --window-ms, --label-column, --population-column."""
    if (args.align is None) != (args.window_ms is None):
        raise _argument_error("--align / --window-ms", "both or neither (an event name and PRE_MS POST_MS)",
                              f"--align {args.align!r}, --window-ms {args.window_ms}")
    opts = {}
    if args.trials is not None:
        opts["trials"] = args.trials
    if args.align is not None:
        opts.update(align=args.align, window_ms=tuple(args.window_ms))
    if args.label_column is not None:
        opts["label_column"] = args.label_column
    if args.population_column is not None:
        opts["population_column"] = args.population_column
    return opts


#: Commands that compute with torch: without --threads they use the idle cores (parallel.idle_cores), so that a busy
#: machine is not oversubscribed (2 threads on a loaded 2-core machine ran 3-4x slower than 1).
_TORCH_COMMANDS = ("demo", "simulate", "train", "robustness")

_READ_FLAGS = {"time_unit": "--time-unit", "sampling_rate_hz": "--sampling-rate-hz", "trials": "--trials", "align": "--align",
               "window_ms": "--window-ms", "label_column": "--label-column",
               "population_column": "--population-column", "labels": "--label-column", "signal": "--signal",
               "signals": "--signal"}


def _initial_network(args, net):
    """The network at initialisation for the E/I structure's third null: ``--initial PATH``, else the one the
    ``--network`` file names (the trainer's ``network_init.pt``, a network with delays), else None."""
    from pathlib import Path

    from .sim import Network
    from .train.trainer import initial_network, initial_null

    if args.initial:
        _existing_file(args.initial, "--initial", "network (Network.save, the network at initialisation)")
        with _flags({"path": "--initial"}, default="--initial"):
            init = Network.load(args.initial)
        if init.spec != net.spec:
            raise _argument_error("--initial", f"a network with the spec of --network ({net.spec.layer_sizes})",
                                  f"{args.initial} with {init.spec.layer_sizes}")
        source = args.initial
    else:
        try:
            with _flags({"path": "--network", "network": "--network"}, default="--network"):
                init = initial_network(args.network, network=net)
        except DataMissingError as exc:
            print(f"warning: {exc} The report leaves the initial null out.", file=sys.stderr)
            return None
        if init is None:
            return None
        source = Path(args.network).parent / net.extra["initial_network_file"]["path"]
    return initial_null(init, source)


def cmd_analyze(args):
    from .parallel import make_executor
    from .report import analyze_file, analyze_many

    from pathlib import Path

    from .io.files import recording_kind

    kinds = {}
    for path in args.recording:
        if not Path(path).is_dir():
            _existing_file(path, "recording", "recording (.nix, .nwb or spike-time text)")
        kinds[path] = recording_kind(path)
    text = [p for p, k in kinds.items() if k in ("text", "directory")]
    if text and args.time_unit is None:
        raise _argument_error("--time-unit", "the time unit of the spike-time text files (s, ms, us or samples)",
                              f"none for {text[0]}")
    if args.time_unit is not None and len(text) < len(kinds):
        raise _argument_error("--time-unit", "spike-time text recordings only (NIX and NWB files state their unit)",
                              [p for p in kinds if p not in text])
    if args.sampling_rate_hz is not None and args.time_unit != "samples":
        raise _argument_error("--sampling-rate-hz", "--time-unit samples with it", f"--time-unit {args.time_unit}")
    weights = signs = delays = initial = None
    if args.initial and not args.network:
        raise _argument_error("--initial", "--network with it (the E/I structure needs the trained weights)",
                              "no --network")
    if args.no_initial and args.initial:
        raise _argument_error("--no-initial", "either --no-initial or --initial PATH",
                              f"both (--initial {args.initial})")
    if args.network:
        from .sim import Network

        _existing_file(args.network, "--network", "network (Network.save)")
        with _flags({"path": "--network", "network": "--network"}, default="--network"):
            net = Network.load(args.network)
        weights, signs = net.weights_numpy()
        if len(net.delay_theta):
            delays = net.delays_numpy()
        initial = None if args.no_initial else _initial_network(args, net)
    _out_dir(args.out)
    options = _report_options(args)
    read = _read_options(args)
    if read and any(k != "NWB" for k in kinds.values()):
        raise _argument_error("--trials/--align/--window-ms/--label-column/--population-column",
                              "NWB recordings only", [p for p, k in kinds.items() if k != "NWB"])
    reader = None
    if text:
        from .adapters.any_file import read_any

        reader = read_any
        read = {"time_unit": args.time_unit, "sampling_rate_hz": args.sampling_rate_hz}
    if len(args.recording) == 1 and args.jobs == 1 and args.executor == "process":
        with _flags({"path": "recording", "out_dir": "--out", **_READ_FLAGS}):
            rep = analyze_file(args.recording[0], args.out, weights=weights, signs=signs, options=options,
                               progress=not args.no_progress, read_options=read or None, signal=args.signal,
                               reader=reader, network_delays=delays, initial=initial)
        print(f"report: {rep.html}\nsummary: {rep.out_dir / 'summary.json'}")
        return 0
    if weights is not None:
        raise _argument_error("--network", "one recording (the pathways are of one network)",
                              f"{len(args.recording)} recordings")
    with _flags({"executor": "--executor", "jobs": "--jobs"}):
        executor = make_executor(args.executor, args.jobs, scheduler=args.scheduler)
    try:
        with _flags({"out_dir": "--out", **_READ_FLAGS}):
            res = analyze_many(args.recording, args.out, options=options, executor=executor,
                               read_options=read or None, signal=args.signal, reader=reader)
    finally:
        if executor is not None:
            executor.shutdown()
    for row in res.rows:
        print(f"{row['file']}: " + (f"report {row['report']}" if row["error"] is None else f"FAILED {row['error']}"))
    print(f"summary table: {res.csv} ({len(res.rows) - res.n_failed} of {len(res.rows)} recordings analysed)")
    return min(res.n_failed, 100)


def cmd_sweep(args):
    from .parallel import make_executor
    from .train.config import load_config
    from .train.sweeps import parse_seeds, parse_settings, seed_table, sweep

    with _flags({"config": "--config", "path": "--config"}, default="--config"):
        config = load_config(args.config)
    seeds = parse_seeds(args.seeds)
    settings = parse_settings(args.set)
    grid = {k: (v if isinstance(v, list) else [v]) for k, v in parse_settings(args.grid).items()}
    _out_dir(args.out)
    with _flags({"executor": "--executor", "jobs": "--jobs"}):
        executor = make_executor(args.executor, args.jobs, scheduler=args.scheduler)
    try:
        with _flags({"out_dir": "--out", "seeds": "--seeds", "grid": "--grid", "device": "--device"}, default="--set"):
            res = sweep(config, args.out, seeds=seeds, settings=settings, grid=grid, executor=executor,
                        threads=args.threads or 1, device=args.device)
    finally:
        if executor is not None:
            executor.shutdown()
    for row in res.rows:
        acc = row.get("test_accuracy")
        print(f"{row['job']}: {row['status']}" + (f", test accuracy {acc:.4f}" if acc is not None else "")
              + (f" ({row['error']})" if row.get("error") else ""))
    for t in seed_table(res.rows):
        print(f"{t['settings']}: test accuracy over {t['n']} seeds: mean {t['mean']:.4f}, SD {t['sd']:.4f}, "
              f"min {t['min']:.4f}, max {t['max']:.4f}")
    print(f"table: {res.csv}")
    return min(res.n_failed, 100)


def _strengths(flag):
    def parse(text):
        try:
            values = [float(v) for v in str(text).split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated numbers >= 0; got {text!r}") from None
        if not values or any(not math.isfinite(v) or v < 0 for v in values):
            raise argparse.ArgumentTypeError(f"expected comma-separated finite numbers >= 0; got {text!r}")
        return values

    parse.__name__ = f"{flag} strengths"
    return parse


def cmd_robustness(args):
    from .train.robustness import evaluate_file

    _existing_file(args.network, "network", "network (Network.save by the trainer)")
    _out_dir(args.out)
    with _flags({"path": "network", "network": "network", "jitter": "--jitter", "deletion": "--deletion",
                 "insertion": "--insertion", "n_draws": "--draws", "split": "--split", "data_dir": "--data-dir"}):
        table = evaluate_file(args.network, args.out, jitter=args.jitter, deletion=args.deletion,
                              insertion=args.insertion, n_draws=args.draws, seed=args.seed, split=args.split,
                              data_dir=args.data_dir, figure=not args.no_figure)
    for row in table.rows:
        print(f"{row.kind} {row.strength:g}: accuracy {row.accuracy_mean:.4f} (95 % CI {row.ci95_low:.4f}-{row.ci95_high:.4f}, "
              f"{len(row.accuracies)} draws)")
    print(f"table: {args.out}/robustness.json")
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
    p.add_argument("--threads", type=_int_at_least(1), default=None,
                   help="torch (and numba) threads of this process; per job for sweep (default: the idle cores, "
                        "cores minus the 1-minute load average, at least 1; 1 per sweep job)")
    sub = p.add_subparsers(dest="command", required=True)

    def common(q):
        q.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback of an error")
        q.add_argument("--threads", type=_int_at_least(1), default=argparse.SUPPRESS,
                       help="torch (and numba) threads (see synsem-ephys --help)")

    def parallel_args(q):
        q.add_argument("--jobs", type=_int_at_least(1), default=1, help="workers (default 1)")
        q.add_argument("--executor", choices=("process", "mpi", "dask"), default="process",
                       help="process pool (default), MPI (run under mpiexec -n N python -m mpi4py.futures) or Dask")
        q.add_argument("--scheduler", help="with --executor dask: a scheduler address (default: a local cluster)")

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
    q.add_argument("--no-delays-in-meta", action="store_true",
                   help="a network with delays: leave its delays out of recording.nix (about 20 bytes per delay, "
                        "MBs for a large synaptic layer); the report takes them from the network")
    q.add_argument("--no-progress", action="store_true")
    common(q)
    q.set_defaults(func=cmd_demo)
    q = sub.add_parser("analyze", help="all analyses of recordings (.nix from synsem_ephys, .nwb, spike-time text) -> "
                                       "OUT/report.html; "
                                       "several files: one report each and a summary table")
    q.add_argument("recording", nargs="+")
    q.add_argument("--out", required=True)
    q.add_argument("--network", help="network file (Network.save) for the pathway analysis (and, with delays, the "
                                     "E/I structure; its delays are used when the recording holds none)")
    q.add_argument("--initial", metavar="PATH", help="with --network: the network at initialisation (Network.save), "
                                                     "the third null of the E/I structure (default: the "
                                                     "network_init.pt the --network file names, if any)")
    q.add_argument("--no-initial", action="store_true", help="with --network: leave the network at initialisation "
                                                             "out (the E/I structure then has the two shuffles only)")
    q.add_argument("--active", type=_float(positive=False), nargs=2, metavar=("START_MS", "STOP_MS"),
                   help="response window in ms after trial start that defines 'active' (in-vivo data)")
    q.add_argument("--min-spikes", type=_int_at_least(1), default=None,
                   help="selected spikes needed to be active (default 1)")
    q.add_argument("--min-active-trials", type=_int_at_least(1), default=None,
                   help="units active in fewer labelled trials get no IG (default 10)")
    q.add_argument("--trials", help="NWB: the intervals table that makes the trials (default: trials, else the session)")
    q.add_argument("--align", help="NWB: an intervals table or time series; one trial per event, see --window-ms")
    q.add_argument("--window-ms", type=_float(positive=False), nargs=2, metavar=("PRE_MS", "POST_MS"),
                   help="NWB with --align: the window around each event")
    q.add_argument("--label-column", help="the trials column (or 'tags') giving each trial's class")
    q.add_argument("--population-column", help="NWB: the units column giving each unit's population")
    q.add_argument("--time-unit", choices=("s", "ms", "us", "samples"),
                   help="spike-time text files: the unit of their numbers (required for them; a text file does not "
                        "say). One time per line (one unit per file; a directory of them) or 'time unit' per line")
    q.add_argument("--sampling-rate-hz", type=_float(positive=True), default=None, help="with --time-unit samples")
    q.add_argument("--signal", metavar="NAME", help="a continuous signal of the recording (NWB: a TimeSeries or "
                                                   "SpatialSeries such as position): adds its tuning curves and "
                                                   "information to the report")
    parallel_args(q)
    q.add_argument("--no-progress", action="store_true")
    common(q)
    q.set_defaults(func=cmd_analyze)
    q = sub.add_parser("sweep", help="train one network per seed (and --grid setting) as resumable jobs, then a table")
    q.add_argument("--config", required=True)
    q.add_argument("--seeds", default="0", help="seeds: 0-9, 0,3,5 (default 0)")
    q.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a config change for every job")
    q.add_argument("--grid", action="append", default=[], metavar="KEY=[V1, V2]", help="values to sweep (every combination)")
    q.add_argument("--out", required=True, help="one folder per job, sweep.csv and sweep.json")
    q.add_argument("--device", default=None, help="cpu, cuda (several GPUs: one job per GPU in turn), cuda:N, or "
                                                 "several comma-separated, e.g. cuda:0,cuda:1 (default: cpu)")
    parallel_args(q)
    common(q)
    q.set_defaults(func=cmd_sweep)
    q = sub.add_parser("robustness", help="accuracy of a trained network under input jitter, spike deletion and insertion")
    q.add_argument("network")
    q.add_argument("--jitter", type=_strengths("--jitter"), default=[0.0, 0.05, 0.1, 0.2, 0.4, 0.8],
                   help="jitter SDs in units of tau_syn (default 0,0.05,0.1,0.2,0.4,0.8)")
    q.add_argument("--deletion", type=_strengths("--deletion"), default=[0.0, 0.1, 0.2, 0.4],
                   help="deletion probabilities (default 0,0.1,0.2,0.4)")
    q.add_argument("--insertion", type=_strengths("--insertion"), default=[0.0, 0.02, 0.05, 0.1],
                   help="insertion probabilities (default 0,0.02,0.05,0.1)")
    q.add_argument("--draws", type=_int_at_least(1), default=10, help="seeded draws per strength (default 10)")
    q.add_argument("--seed", type=_int_at_least(0), default=0)
    q.add_argument("--split", choices=("test", "train"), default="test")
    q.add_argument("--data-dir", help="MNIST directory for an MNIST network")
    q.add_argument("--no-figure", action="store_true")
    q.add_argument("--out", required=True)
    common(q)
    q.set_defaults(func=cmd_robustness)
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
        if args.command != "sweep" and (args.threads is not None or args.command in _TORCH_COMMANDS):
            from .parallel import idle_cores, set_threads

            set_threads(args.threads if args.threads is not None else idle_cores())
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
