"""Command line of synsem_ephys: ``synsem-ephys {demo,simulate,train} ...``.

``demo`` is the main job of the README's quick start (:mod:`synsem_ephys.demo`): the shipped trained
network simulated on its test images, exported to NIX, analysed, ``OUT/report.html``. ``simulate``
prints the spike-time summary of every layer of a random Dale's-law network.
"""

import argparse
import sys

__all__ = ["main", "build_parser"]


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

    weights = signs = None
    if args.network:
        from .sim import Network

        net = Network.load(args.network)
        weights, signs = net.weights_numpy()
    options = None
    if args.active is not None:
        options = ReportOptions(active=tuple(args.active), packet=tuple(args.active), min_spikes=args.min_spikes)
    rep = analyze_file(args.recording, args.out, weights=weights, signs=signs, options=options, progress=not args.no_progress)
    print(f"report: {rep.html}\nsummary: {rep.out_dir / 'summary.json'}")
    return 0


def cmd_train(args):
    from pathlib import Path

    from .train import train_from_config
    from .train.trainer import CHECKPOINT_NAME, NETWORK_NAME

    if args.allow_schedule_change and not args.resume:
        print("error: --allow-schedule-change: expected together with --resume; got it alone.", file=sys.stderr)
        return 2
    res = train_from_config(args.config, args.out, resume=args.resume, progress=not args.no_progress,
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
    p = argparse.ArgumentParser(prog="synsem-ephys", description="Trained spiking networks studied like brains.")
    sub = p.add_subparsers(dest="command", required=True)

    def sim_args(q):
        q.add_argument("--trials", type=int, default=200)
        q.add_argument("--n-inputs", type=int, default=100)
        q.add_argument("--layers", type=int, default=4)
        q.add_argument("--n-exc", type=int, default=300)
        q.add_argument("--n-inh", type=int, default=100)
        q.add_argument("--n-outputs", type=int, default=10)
        q.add_argument("--tau-syn-ms", type=float, default=5.0)
        q.add_argument("--tau-mem-ms", type=float, default=10.0)
        q.add_argument("--seed", type=int, default=0)

    q = sub.add_parser("simulate", help="simulate a Dale's-law network on random latency-coded inputs")
    sim_args(q)
    q.set_defaults(func=cmd_simulate)
    q = sub.add_parser("demo", help="the main job: the shipped trained network recorded, exported to NIX and "
                                    "analysed -> OUT/report.html (no download, no GPU)")
    q.add_argument("--out", default="demo_out", help="output directory (default: demo_out)")
    q.add_argument("--network", help="a trained network file (Network.save by the trainer); default: the shipped one")
    q.add_argument("--data-dir", help="MNIST directory: use its whole test split (default: the 1,000 MNIST test "
                                      "images bundled with the package)")
    q.add_argument("--n-trials", type=int, help="use only the first N test images")
    q.add_argument("--no-progress", action="store_true")
    q.set_defaults(func=cmd_demo)
    q = sub.add_parser("analyze", help="all analyses of a recording (.nix from synsem_ephys, or .nwb) -> OUT/report.html")
    q.add_argument("recording")
    q.add_argument("--out", required=True)
    q.add_argument("--network", help="network file (Network.save) for the pathway analysis")
    q.add_argument("--active", type=float, nargs=2, metavar=("START_MS", "STOP_MS"),
                   help="response window in ms after trial start that defines 'active' (in-vivo data)")
    q.add_argument("--min-spikes", type=int, default=1)
    q.add_argument("--no-progress", action="store_true")
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
    q.set_defaults(func=cmd_train)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
