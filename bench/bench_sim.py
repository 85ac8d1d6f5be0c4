"""Benchmark of the exact forward against an Euler forward and dense matmuls (not a test).

Network 784 -> 4 x (300E + 100I) -> 10 with Dale's law; MNIST test images latency-coded as
t = (0.15 + (1 - x) * 1.85) * tau_syn; weights calibrated so that 50-90 % of each layer's units fire.
Prints patterns/s of
  (a) the exact forward (this package, ``Network.forward``: the default backend, the fused kernel when
      numba is installed; bench/bench_kernel.py compares the backends),
  (b) a forward-Euler time-stepped forward at dt = 0.01 tau_syn (the training forward of
      fast-and-deep), efficient: per layer the input currents are binned once (one index_add of
      weight rows), then each step is elementwise in-place ops only (bench_kernel.euler_layer), run
      layer by layer over a window that ends at the latest exact spike + 1 ms (in Euler's favour),
  (c) the dense matmuls of the same shapes,
their ratios a/b and a/c, and the largest spike-time difference between (a) and (b).
Everything runs in this process, on the same threads; use the ratios, not the absolute numbers.

Usage: python bench/bench_sim.py [--n 1000] [--n-euler 200] [--ratio 2] [--dtype float64] [--threads 2]
"""

import argparse
import math
import time

import torch

from bench_kernel import euler_layer as _euler_binned
from synsem_ephys.sim import Network
from synsem_ephys.spec import NetworkSpec
from synsem_ephys.train.data import load_mnist


def euler_layer(t_in, W, tau_syn, tau_mem, threshold, dt, t_end, chunk=50):
    """First-spike times of one layer by forward Euler on tau_m V' = -V + I, tau_s I' = -I, I += w
    (input currents binned once per layer and chunk of samples, elementwise steps only)."""
    return _euler_binned(t_in, W, tau_syn, tau_mem, threshold, dt, t_end, chunk)


def timeit(fn, repeat=1):
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = fn()
        best = min(best, time.perf_counter() - t0)
    return best, res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--n-euler", type=int, default=200)
    ap.add_argument("--ratio", type=float, default=2.0, help="tau_mem / tau_syn (1 or 2)")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--group-size", type=int, default=None)
    ap.add_argument("--backward", action="store_true", help="also time forward + backward")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    tau_s = 5.0
    spec = NetworkSpec(784, tau_syn_ms=tau_s, tau_mem_ms=args.ratio * tau_s)
    data = load_mnist("test")
    x = torch.tensor(data.x[: args.n], dtype=dtype)
    t_in = (0.15 + (1.0 - x) * 1.85) * tau_s
    net = Network(spec, seed=1, dtype=dtype, group_size=args.group_size)
    fr = net.calibrate_(t_in[:200], target=(0.5, 0.9))
    print(f"network 784-4x(300E+100I)-10, tau_syn {tau_s} ms, tau_mem {args.ratio * tau_s} ms, {args.dtype}, "
          f"{torch.get_num_threads()} threads; firing fractions after calibration: {[round(f, 2) for f in fr]}")

    with torch.no_grad():
        net(t_in[:50])  # warm-up
        ta, exact = timeit(lambda: net(t_in), repeat=2)
        Ws = [W.detach() for W in net.weights]

        def dense():
            h = t_in
            for W in Ws:
                h = h @ W
            return h

        tc, _ = timeit(dense, repeat=5)
        ne = min(args.n_euler, args.n)
        dt = 0.01 * tau_s

        def euler():
            h = t_in[:ne]
            outs = []
            for W, ex in zip(Ws, exact):
                fin = ex[:ne][torch.isfinite(ex[:ne])]
                t_end = (float(fin.max()) if fin.numel() else 10 * tau_s) + 1.0
                h = euler_layer(h, W, tau_s, args.ratio * tau_s, spec.threshold, dt, t_end)
                outs.append(h)
            return outs

        tb, eul = timeit(euler)
    pa, pb, pc = args.n / ta, ne / tb, args.n / tc
    diffs = []
    mism = 0
    for e, x_ in zip(eul, exact):
        x_ = x_[:ne]
        both = torch.isfinite(e) & torch.isfinite(x_)
        mism += int((torch.isfinite(e) != torch.isfinite(x_)).sum())
        if both.any():
            diffs.append(float((e[both] - x_[both]).abs().max()))
    print(f"(a) exact forward      {pa:10.1f} patterns/s  ({args.n} patterns)")
    print(f"(b) Euler dt={dt:.3f} ms {pb:10.1f} patterns/s  ({ne} patterns)")
    print(f"(c) dense matmuls      {pc:10.1f} patterns/s")
    print(f"ratio a/b = {pa / pb:.1f} (goal >= 25), c/a = {pc / pa:.1f} (goal <= 20: within 20x of the dense matmuls)")
    print(f"max |t_exact - t_euler| over spikes both fire: {max(diffs):.4f} ms; spike/no-spike mismatches: {mism}")
    if args.backward:
        tp = t_in.clone().requires_grad_(True)

        def fb():
            out = net(tp)
            loss = sum(torch.where(torch.isfinite(o), o, torch.zeros_like(o)).sum() for o in out)
            loss.backward()

        tfb, _ = timeit(fb)
        print(f"forward + backward     {args.n / tfb:10.1f} patterns/s  (backward/forward time {tfb / ta - 1:.2f})")


if __name__ == "__main__":
    main()
