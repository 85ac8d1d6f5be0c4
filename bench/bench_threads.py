"""1 vs 2 compute threads on the exact forward and a training batch, without and with a concurrent busy process.

Everything runs in this process (``synsem_ephys.parallel.set_threads``: torch's intra-op threads and numba's),
round robin over ``--repeat`` repeats, medians reported:

* ``forward``: the exact forward (``spike_times``, default backend, no grad) of the shipped MNIST network
  (784-4x(300E+100I)-10, float32 as trained) on ``--n`` bundled test images;
* ``train``: one training batch (``--batch`` images): forward with grad, the TTFS loss of the training config,
  backward (the optimiser step is a few elementwise ops and left out).

Load conditions, in turn: ``none`` (the machine as it is; its 1-minute load average is recorded) and
``busy`` (``--busy`` processes started here that spin a core each at normal priority, as another user's job
would). A busy core is the case a default must survive: a thread that waits for a descheduled partner spins
or sleeps at every parallel region.

Run: ``nice -n 5 .venv/bin/python bench/bench_threads.py --repeat 5 --out bench/results/threads.json``
(OMP_NUM_THREADS is ignored here: the thread counts are set explicitly).
"""

import argparse
import json
import multiprocessing
import os
import statistics
import time
from pathlib import Path

import torch

SHIPPED = Path(__file__).resolve().parents[1] / "synsem_ephys" / "data" / "mnist_dale.pt"


def _spin(stop):  # a busy process: one core at 100 %
    x = 0
    while not stop.is_set():
        for _ in range(10000):
            x += 1


def problem(n, batch):
    from synsem_ephys.encoding import LatencyCode
    from synsem_ephys.sim import Network
    from synsem_ephys.train.data import load_mnist_test_subset

    net = Network.load(SHIPPED, dtype=torch.float32)
    cfg = net.extra["config"]
    code = LatencyCode(cfg["tau_syn_ms"], cfg["t_early"], cfg["t_late"], cfg["zero_never_spikes"])
    data = load_mnist_test_subset()
    t_in = torch.tensor(code.encode(data.x[: max(n, batch)]), dtype=torch.float32)
    y = torch.as_tensor(data.y[: max(n, batch)], dtype=torch.long)
    return net, cfg, t_in, y


def run_forward(net, t_in):
    with torch.no_grad():
        net(t_in)


def run_train(net, cfg, t_in, y):
    from synsem_ephys.train.loss import ttfs_loss

    for w in net.weights:
        w.requires_grad_(True)
        w.grad = None
    outs = net(t_in)
    loss = ttfs_loss(outs[-1], y, cfg["tau_syn_ms"], cfg["xi"], cfg["alpha"], cfg["beta"])
    loss.backward()


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    from synsem_ephys.parallel import set_threads

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500, help="test images in the forward")
    ap.add_argument("--batch", type=int, default=50, help="training batch")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--busy", type=int, default=1, help="busy processes in the 'busy' condition")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    net, cfg, t_in, y = problem(args.n, args.batch)
    fwd_in, tr_in, tr_y = t_in[: args.n], t_in[: args.batch], y[: args.batch]
    for n in threads:  # warm-up: numba compile / cache load, torch's thread pools
        set_threads(n)
        run_forward(net, fwd_in[:50])
        run_train(net, cfg, tr_in, tr_y)
    results = {}
    ctx = multiprocessing.get_context("spawn")
    for cond in ("none", "busy"):
        stop, procs = ctx.Event(), []
        if cond == "busy":
            procs = [ctx.Process(target=_spin, args=(stop,), daemon=True) for _ in range(args.busy)]
            for p in procs:
                p.start()
            time.sleep(1.0)
        load = os.getloadavg()[0]
        times = {(n, k): [] for n in threads for k in ("forward", "train")}
        try:
            for _ in range(args.repeat):
                for n in threads:
                    set_threads(n)
                    times[(n, "forward")].append(timed(lambda: run_forward(net, fwd_in)))
                    times[(n, "train")].append(timed(lambda: run_train(net, cfg, tr_in, tr_y)))
        finally:
            stop.set()
            for p in procs:
                p.join(5)
                if p.is_alive():
                    p.kill()
        res = {"load_1min_at_start": load, "busy_processes": len(procs)}
        for (n, k), v in times.items():
            res[f"{k}_s_threads{n}"] = statistics.median(v)
            res[f"{k}_all_s_threads{n}"] = v
        for k in ("forward", "train"):
            res[f"{k}_speedup_2_over_1"] = res[f"{k}_s_threads{threads[0]}"] / res[f"{k}_s_threads{threads[-1]}"]
        results[cond] = res
        print(f"{cond:>5} (load {load:.1f}, {len(procs)} busy): forward {args.n} images "
              + ", ".join(f"{n} thr {res[f'forward_s_threads{n}']:.3f} s" for n in threads)
              + f" (x{res['forward_speedup_2_over_1']:.2f}); train batch {args.batch} "
              + ", ".join(f"{n} thr {res[f'train_s_threads{n}']:.3f} s" for n in threads)
              + f" (x{res['train_speedup_2_over_1']:.2f})")
    out = {"when": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count(), "torch": torch.__version__,
           "n": args.n, "batch": args.batch, "repeat": args.repeat, "threads": threads, "results": results,
           "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
