"""Cost of transmission delays in the exact simulator: axonal, dendritic and synaptic vs none (not a test).

``--task mnist`` (default): the shipped network ``synsem_ephys/data/mnist_dale.pt`` (784 - 4 x (300E + 100I) - 10)
on a training-size batch of the bundled MNIST test subset, latency-coded with the network's training config,
d_max = ``--d-max-tau`` tau_syn (default 2). ``--task t2``: the temporal task, the trained T2 network beside
tutorial 07 (``tutorials/data/t2_synaptic_learned_s0``, 128 - (96E + 32I) - 20, its weights) on a training batch of
the bundled spoken digits (train split, ``--batch``; the T2 config trains with 25), coded with its config,
d_max = 100 ms (its input span, the config's ``delay_max_ms``). Every layer gets delays drawn uniformly in
[0, d_max], shapes (n_in, 1) axonal, (1, n_out) dendritic, (n_in, n_out) synaptic (the bench's own draw, also
for the T2 network). Times, in one process, on the same batch:

  forward            layer by layer under ``torch.no_grad()``
  forward+backward   weights and delays require grad; loss = sum of the finite output spike times

and prints the best of ``--repeat`` runs (taken in turn) with the ratio against no delays. Use the ratios, not the
absolute numbers (the machine is shared). Also prints the fraction of units that fire per layer; with ``--tag``
writes the times, ratios and config to ``bench/results/bench_delays_<task>_<tag>.json``.

Usage: python bench/bench_delays.py [--task mnist|t2] [--batch 50] [--dtype float32] [--threads 1] [--repeat 3]
       [--d-max-tau 2.0] [--kinds none,axonal,dendritic,synaptic] [--backends auto,torch,numba] [--tag NAME]
"""

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

import torch

from synsem_ephys.sim import Network, spike_times

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = "synsem_ephys/data/mnist_dale.pt"
T2_NETWORK = ROOT / "tutorials" / "data" / "t2_synaptic_learned_s0" / "network.pt"


def t2_inputs(n, net, dtype):
    """A training batch of the bundled spoken digits (train split, speaker-disjoint ``data_seed``), coded with the
    T2 network's config; and d_max (ms)."""
    from synsem_ephys.encoding import LatencyCode
    from synsem_ephys.train.config import TrainConfig
    from synsem_ephys.train.data.spoken_digits import load_spoken_digits

    cfg = TrainConfig.from_dict(net.extra["config"])
    x = load_spoken_digits("train", seed=cfg.data_seed).x[:n]
    d_max = cfg.delay_max_ms if isinstance(cfg.delay_max_ms, (int, float)) else max(cfg.delay_max_ms)
    return torch.tensor(LatencyCode.from_config(cfg).encode(x), dtype=dtype), "bundled spoken digits, train split", \
        float(d_max)


def mnist_inputs(n, tau_syn_ms, cfg, dtype, seed):
    """Latency-coded images of the bundled MNIST test subset with the network's encoding config; random
    latency inputs of the same sparsity (~17 % of the pixels spike, times in [0.15, 2.0] tau_syn) if the
    training helpers cannot be imported (the package is being restructured). Returns (times, source)."""
    kw = dict(t_early=cfg.get("t_early", 0.15), t_late=cfg.get("t_late", 2.0))
    try:
        try:
            from synsem_ephys.encoding import latency_encode
        except ImportError:
            from synsem_ephys.train import latency_encode
        try:
            from synsem_ephys.train.data import load_mnist_test_subset
        except ImportError:
            from synsem_ephys.train.datasets import load_mnist_test_subset
    except ImportError:
        g = torch.Generator().manual_seed(seed)
        t = (kw["t_early"] + torch.rand(n, 784, generator=g, dtype=torch.float64)
             * (kw["t_late"] - kw["t_early"])) * tau_syn_ms
        t[torch.rand(n, 784, generator=g) > 0.17] = math.inf
        return t.to(dtype), "random latency inputs"
    x = load_mnist_test_subset().x[:n]
    t = latency_encode(x, tau_syn_ms=tau_syn_ms, zero_never_spikes=cfg.get("zero_never_spikes", True), **kw)
    return torch.tensor(t, dtype=dtype), "bundled MNIST test subset, latency-coded"


def delays_for(kind, W, d_max, gen):
    n_in, n_out = W.shape
    shape = {"axonal": (n_in, 1), "dendritic": (1, n_out), "synaptic": (n_in, n_out)}[kind]
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * d_max).to(W.dtype)


def run(net, t_in, delays, backward, backend="auto"):
    spec = net.spec
    kw = dict(tau_syn_ms=spec.tau_syn_ms, tau_mem_ms=spec.tau_mem_ms, threshold=spec.threshold, backend=backend)
    t = t_in
    outs = []
    for l, W in enumerate(net.weights):
        t = spike_times(t, W, delays_ms=None if delays is None else delays[l], **kw)
        outs.append(t)
    if backward:
        loss = torch.where(torch.isfinite(t), t, torch.zeros_like(t)).sum()
        loss.backward()
    return outs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="mnist", choices=["mnist", "t2"])
    ap.add_argument("--network", default=None, help="default: the shipped MNIST network (mnist), the T2 network "
                    "beside tutorial 07 (t2)")
    ap.add_argument("--tag", default=None, help="write bench/results/bench_delays_<task>_<tag>.json")
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--d-max-tau", type=float, default=2.0, help="largest delay in units of tau_syn")
    ap.add_argument("--kinds", default="none,axonal,dendritic,synaptic")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backends", default="auto", help="comma-separated backends of spike_times (auto, torch, "
                    "numba); each condition is timed on each, ratios against no delays on the same backend")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    args.network = args.network or (SHIPPED if args.task == "mnist" else str(T2_NETWORK))
    net = Network.load(args.network, dtype=dtype)
    spec = net.spec
    cfg = net.extra.get("config", {}) if isinstance(net.extra, dict) else {}
    if args.task == "t2":
        t_in, source, d_max = t2_inputs(args.batch, net, dtype)
    else:
        t_in, source = mnist_inputs(args.batch, spec.tau_syn_ms, cfg, dtype, args.seed)
        d_max = args.d_max_tau * spec.tau_syn_ms
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    gen = torch.Generator().manual_seed(args.seed)
    delays = {k: None if k == "none" else [delays_for(k, W, d_max, gen) for W in net.weights] for k in kinds}
    sizes = "-".join(str(n) for n in spec.layer_sizes)
    print(f"network {sizes} ({args.network}), tau_syn {spec.tau_syn_ms} ms, tau_mem {spec.tau_mem_ms} ms, "
          f"{args.dtype}, batch {args.batch} ({source}), {torch.get_num_threads()} thread(s), "
          f"delays U(0, {d_max:g} ms)")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    conds = [(k, be) for be in backends for k in kinds]
    res = {}
    for k, be in conds:  # warm-up, not timed (numba compiles or loads its cache on the first call of each path)
        for backward in (False, True):
            net.zero_grad(set_to_none=True)
            ds = None if delays[k] is None else [d.clone().requires_grad_(backward) for d in delays[k]]
            with torch.set_grad_enabled(backward):
                run(net, t_in, ds, backward, be)
    for rep in range(args.repeat):  # round robin, so that load drift on a shared machine hits all alike
        for backward in (False, True):
            for k, be in conds:
                net.zero_grad(set_to_none=True)
                ds = None if delays[k] is None else [d.clone().requires_grad_(backward) for d in delays[k]]
                t0 = time.perf_counter()
                if backward:
                    outs = run(net, t_in, ds, True, be)
                else:
                    with torch.no_grad():
                        outs = run(net, t_in, ds, False, be)
                res[k, be, backward] = min(res.get((k, be, backward), math.inf), time.perf_counter() - t0)
                if rep == 0 and not backward:
                    fr = [round(float(torch.isfinite(o).float().mean()), 2) for o in outs]
                    print(f"  {k:9s} [{be}] firing fractions per layer {fr}")
    base = "none" if "none" in kinds else kinds[0]
    print(f"{'delays':10s} {'backend':>8s} {'forward s':>10s} {'ratio':>7s} {'fwd+bwd s':>10s} {'ratio':>7s}")
    rows = []
    for k, be in conds:
        f, b = res[k, be, False], res[k, be, True]
        f0, b0 = res[base, be, False], res[base, be, True]
        print(f"{k:10s} {be:>8s} {f:10.3f} {f / f0:7.2f} {b:10.3f} {b / b0:7.2f}")
        rows.append({"delays": k, "backend": be, "forward_s": f, "forward_ratio": f / f0, "fwdbwd_s": b,
                     "fwdbwd_ratio": b / b0})
    if args.tag:
        from synsem_ephys._files import write_atomic

        meta = {"config": vars(args), "network": sizes, "inputs": source, "d_max_ms": d_max, "torch": torch.__version__,
                "threads": torch.get_num_threads(), "machine": platform.machine(), "python": platform.python_version(),
                "date": time.strftime("%Y-%m-%d %H:%M:%S"), "load_avg": os.getloadavg()}
        path = ROOT / "bench" / "results" / f"bench_delays_{args.task}_{args.tag}.json"
        text = json.dumps({"meta": meta, "results": rows}, indent=1)
        write_atomic(path, lambda fh: fh.write(text), mode="w")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
