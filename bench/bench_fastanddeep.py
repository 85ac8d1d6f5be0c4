"""The exact simulator against the stored outputs of the published fast-and-deep eight-layer network (not a test).

Loads ``fastanddeep/mnist_eightlayer_seed1_daleslaw`` (784 - 8 x (75E + 25I) - 10, Dale's law, tau_mem =
tau_syn) with :mod:`synsem_ephys.adapters.fastanddeep`, encodes the MNIST test images the authors' way
(pixel / 256) and runs this package's exact forward. Prints, in units of tau_syn (the authors' Euler step
is 0.01):

- on all (or ``--n``) test images: |dt| at the output against ``mnist_test_spiketimes.npy`` (median, 99th
  percentile, max, outputs firing in only one of the two), class agreement, both accuracies, time;
- on the 150 dumped samples: |dt| per layer end to end and layer by layer (each layer from the stored
  spikes of the layer before), and class agreement.

Usage: python bench/bench_fastanddeep.py [--n 10000] [--threads 1] [--data DIR]
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
from synsem_ephys.adapters import fastanddeep as fd


def _stats(a, b):
    fa, fb = np.isfinite(a), np.isfinite(b)
    both = fa & fb
    d = np.abs(a[both] - b[both])
    return (f"median {np.median(d):.4f}  p99 {np.percentile(d, 99):.4f}  max {d.max():.3f}  "
            f"one fires only {int(np.sum(fa != fb))} of {a.size}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("SYNSEM_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    ap.add_argument("--data", type=Path, default=default)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--tau-syn-ms", type=float, default=5.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    run, tau = args.data / "fastanddeep" / "mnist_eightlayer_seed1_daleslaw", args.tau_syn_ms

    t0 = time.perf_counter()
    net = fd.load_network(run, tau_syn_ms=tau)
    print(f"network {net.spec.layer_sizes}, hidden (n_exc, n_inh) {net.spec.hidden[0]} x {len(net.spec.hidden)}, "
          f"Dale violations {net.dale_violations()}, loaded in {time.perf_counter() - t0:.2f} s")
    stored, labels = fd.load_test_outputs(run, tau_syn_ms=tau)
    print(f"stored test accuracy {100 * fd.accuracy_from_times(stored, labels):.2f} % "
          f"(ties counted wrong: {100 * fd.accuracy_from_times(stored, labels, ties='none'):.2f} %)")

    t_in, lab = fd.mnist_test_input_times(args.data / "mnist", tau_syn_ms=tau, n=args.n)
    n = t_in.shape[0]
    t0 = time.perf_counter()
    with torch.no_grad():
        out = np.concatenate([net(torch.from_numpy(t_in[i:i + 1000]))[-1].numpy() for i in range(0, n, 1000)])
    dt = time.perf_counter() - t0
    agree = fd.predictions_from_times(out) == fd.predictions_from_times(stored[:n])
    print(f"exact forward of {n} test images: {dt:.1f} s ({n / dt:.0f} images/s, {args.threads} thread(s))")
    print(f"  output |dt| vs stored [tau_syn]: {_stats(out / tau, stored[:n] / tau)}")
    print(f"  class agreement {100 * agree.mean():.2f} % ({int((~agree).sum())} of {n} differ); accuracy exact "
          f"{100 * fd.accuracy_from_times(out, lab):.2f} %, stored {100 * fd.accuracy_from_times(stored[:n], lab):.2f} %")

    d_in = np.load(run / fd.DUMP_FILES["inputs"])
    dumps = list(np.load(run / fd.DUMP_FILES["hiddens"])) + [np.load(run / fd.DUMP_FILES["outputs"])]
    with torch.no_grad():
        e2e = [t.numpy() / tau for t in net(torch.from_numpy(d_in * tau))]
        prev, local = d_in, []
        for l, W in enumerate(net.weights):
            local.append(net._layer(torch.from_numpy(prev * tau), W, l).numpy() / tau)
            prev = dumps[l]
    print(f"the {d_in.shape[0]} dumped samples, |dt| [tau_syn] per layer:")
    for l in range(len(dumps)):
        name = f"hidden{l + 1}" if l < len(dumps) - 1 else "output "
        print(f"  {name} end to end: {_stats(e2e[l], dumps[l])}\n          layer-local: {_stats(local[l], dumps[l])}")
    agree = fd.predictions_from_times(e2e[-1]) == fd.predictions_from_times(dumps[-1])
    print(f"  class agreement {int(agree.sum())} of {agree.size}")


if __name__ == "__main__":
    main()
