"""Training steps on the CPU and on a CUDA GPU, timed in one process (speed only).

    python bench/bench_train_device.py [--config runs/mnist_dale/config.yaml] [--checkpoint CK]
                                       [--init-network NET.pt] [--steps 20] [--threads 2]
                                       [--gpu-batch-sizes 50,200,500] [--json OUT.json]

The trainer of ``--config`` (default: the bundled ``mnist_dale``: 784-4x(300E+100I)-10, Dale, batch 50,
float32) is built once per device; with ``--checkpoint`` it starts from that training state (the trained
regime is slower than the random init: more spikes per layer); ``--init-network`` starts from a network file's
weights instead (the config's ``init_network``: e.g. the shipped ``synsem_ephys/data/mnist_dale.pt``, which
times the trained regime without a checkpoint). The same ``--steps`` mini-batches of the
training split run on each device after one warm-up step; the result is seconds per batch, batches/s
and the ratio CPU / GPU. Without a GPU only the CPU line is printed. ``--gpu-batch-sizes`` then times the GPU
at other batch sizes (same trainer, ``--steps`` batches each), as seconds per batch and samples/s relative to
the config's batch size: a GPU is latency-bound at small batches, so this says how much a larger batch would buy.
"""

import argparse
import dataclasses
import time

import torch

from synsem_ephys.train.config import load_config
from synsem_ephys.train.trainer import Trainer


def make_trainer(config, checkpoint, device):
    tr = Trainer(config, None, progress=False, device=device)
    if checkpoint:
        tr.load_checkpoint(checkpoint, allow_schedule_change=True)
    return tr


def time_steps(tr, steps, bs):
    t, y = tr._t["train"]
    if (steps + 1) * bs > len(y):
        raise ValueError(f"steps: (steps + 1) * batch size must fit in the {len(y)} training samples, got {steps} "
                         f"steps of {bs}")
    sync = torch.cuda.synchronize if tr.device.type == "cuda" else (lambda: None)
    tr.train_step(t[:bs], y[:bs])
    sync()
    start = time.perf_counter()
    for i in range(1, steps + 1):
        tr.train_step(t[i * bs:(i + 1) * bs], y[i * bs:(i + 1) * bs])
    sync()
    return (time.perf_counter() - start) / steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="mnist_dale")
    ap.add_argument("--checkpoint")
    ap.add_argument("--init-network", help="start from this network file's weights (the config's init_network)")
    ap.add_argument("--json", help="write the timings (and the command's arguments) to this JSON file")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--gpu-batch-sizes", default="",
                    help="comma-separated batch sizes to time on the GPU besides the config's")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    config = load_config(args.config)
    if args.init_network:
        config = dataclasses.replace(config, init_network=args.init_network)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    trainers = {d: make_trainer(config, args.checkpoint, d) for d in devices}
    res = {d: time_steps(trainers[d], args.steps, config.batch_size) for d in devices}
    if args.json:
        import json
        import os

        from synsem_ephys._files import write_atomic

        load = os.getloadavg()
        rows = [{"device": d, "threads": args.threads, "batch_size": config.batch_size, "s_per_batch": s,
                 "samples_per_s": config.batch_size / s} for d, s in res.items()]
        doc = {"args": vars(args), "torch": torch.__version__, "load_avg": load, "rows": rows}
        write_atomic(args.json, lambda fh: fh.write(json.dumps(doc, indent=1) + "\n"), mode="w")
    for d, s in res.items():
        print(f"{d:5s} {s:.3f} s per batch of {config.batch_size} ({1 / s:.2f} batches/s)")
    if "cuda" in res:
        print(f"ratio cpu/cuda {res['cpu'] / res['cuda']:.2f} ({torch.cuda.get_device_name()})")
        base = config.batch_size / res["cuda"]
        for bs in [int(b) for b in args.gpu_batch_sizes.split(",") if b.strip()]:
            sec = time_steps(trainers["cuda"], args.steps, bs)
            print(f"cuda  batch {bs:5d}: {sec:.3f} s per batch, {bs / sec:8.1f} samples/s "
                  f"({bs / sec / base:.2f}x the samples/s at batch {config.batch_size})")
    else:
        print("no CUDA device: cpu only")


if __name__ == "__main__":
    main()
