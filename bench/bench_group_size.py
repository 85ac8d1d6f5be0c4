"""Group size of the exact scan (speed only): time per pattern for each size, interleaved in one process.

    python bench/bench_group_size.py [--dtype float32] [--checkpoint runs/mnist_dale/checkpoint.pt]
                                     [--sizes 32 64] [--backward] [--n 600] [--threads 1]

Without ``--checkpoint`` the network is the 784-4x(300E+100I)-10 Dale net at its calibrated random
init (50-90 % firing per layer, as in bench_sim.py); with it, the checkpoint's trained network and its
own latency code. Inputs: MNIST training images (``mnist_dir()`` resolution). The sizes are timed in
turn on the same batches, ``--reps`` times, and reported as patterns/s and as ratios to the first size.
"""

import argparse
import time

import numpy as np
import torch

from synsem_ephys.sim import Network
from synsem_ephys.spec import NetworkSpec
from synsem_ephys.train.data import load_mnist
from synsem_ephys.encoding import latency_encode
from synsem_ephys.train.loss import ttfs_loss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--checkpoint")
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--backward", action="store_true", help="time forward + backward of the TTFS loss")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dtype = getattr(torch, a.dtype)
    data = load_mnist("train")
    if a.checkpoint:
        from synsem_ephys.train.config import TrainConfig
        from synsem_ephys.train.trainer import network_from_checkpoint

        net = network_from_checkpoint(a.checkpoint, dtype=dtype)
        c = TrainConfig.from_dict(net.extra["config"])
        t_in = latency_encode(data.x[: a.n], tau_syn_ms=c.tau_syn_ms, t_early=c.t_early, t_late=c.t_late,
                              zero_never_spikes=c.zero_never_spikes)
        what = f"checkpoint {a.checkpoint} (epoch {net.extra['epochs_done']})"
    else:
        spec = NetworkSpec(784, tau_syn_ms=5.0, tau_mem_ms=10.0)
        net = Network(spec, seed=1, dtype=dtype)
        t_in = (0.15 + (1.0 - data.x[: a.n]) * 1.85) * 5.0
        what = "calibrated random init"
    t_in = torch.as_tensor(np.asarray(t_in), dtype=dtype)
    y = torch.as_tensor(data.y[: a.n])
    if not a.checkpoint:
        net.calibrate_(t_in[:200], target=(0.5, 0.9))
    n_b = a.n // a.batch
    per = {L: [] for L in a.sizes}
    for rep in range(a.reps):
        for L in a.sizes:
            net.group_size = L
            t0 = time.perf_counter()
            for b in range(n_b):
                sl = slice(b * a.batch, (b + 1) * a.batch)
                if a.backward:
                    for W in net.weights:
                        W.grad = None
                    ttfs_loss(net(t_in[sl])[-1], y[sl], net.spec.tau_syn_ms).backward()
                else:
                    with torch.no_grad():
                        net(t_in[sl])
            per[L].append(n_b * a.batch / (time.perf_counter() - t0))
    print(f"{what}, {a.dtype}, {'forward+backward' if a.backward else 'forward'}, {a.threads} thread(s), "
          f"{n_b} batches of {a.batch}, {a.reps} interleaved repetitions")
    base = np.median(per[a.sizes[0]])
    for L in a.sizes:
        med = float(np.median(per[L]))
        print(f"  group size {L:4d}: {med:8.1f} patterns/s (median; {[round(v, 1) for v in per[L]]}), "
              f"ratio to {a.sizes[0]}: {med / base:.2f}")


if __name__ == "__main__":
    main()
