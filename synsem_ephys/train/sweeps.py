"""Many networks: one training run per seed and setting, as independent, resumable jobs on any executor.

``sweep(config, out_dir, seeds=range(10), grid={"lr": [0.01, 0.005]})`` trains one network per (setting, seed)
into ``out_dir/<job>/`` (its own checkpoint folder: a killed sweep started again resumes each job where it
stopped, and a finished job is read back, not trained again) and writes ``out_dir/sweep.csv`` and
``sweep.json``: one row per job with its seed, settings, test accuracy, best validation accuracy, epochs,
seconds, or the error that stopped it; :func:`seed_table` gives the mean, SD, min and max over seeds of each
setting. Jobs run through :func:`synsem_ephys.parallel.map_tasks`; each job's randomness comes from its own
config seed, so the results are the same on any executor. Each job uses ``threads`` torch threads (default
1: workers side by side must not oversubscribe the machine).
"""

import csv
import io as _io
import itertools
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._files import json_dumps, write_text_atomic
from ..errors import input_error
from ..parallel import map_tasks
from .config import TrainConfig, load_config

__all__ = ["SweepResult", "sweep", "seed_table", "parse_seeds", "parse_settings", "job_devices"]


@dataclass(frozen=True)
class SweepResult:
    """What :func:`sweep` wrote: one row per job, the table files, how many jobs failed."""

    rows: tuple
    csv: Path
    json: Path
    n_failed: int


def parse_seeds(text):
    """Seeds from ``"0-9"``, ``"0,3,5"`` or ``"0-4,10"`` (inclusive ranges)."""
    seeds = []
    for part in str(text).split(","):
        part = part.strip()
        try:
            if "-" in part[1:]:
                a, b = part.split("-", 1)
                lo, hi = int(a), int(b)
                if hi < lo:
                    raise ValueError
                seeds += list(range(lo, hi + 1))
            else:
                seeds.append(int(part))
        except ValueError:
            raise input_error("--seeds", "seeds like 0-9 or 0,3,5 (non-negative ints, inclusive ranges)",
                              repr(text)) from None
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise input_error("--seeds", "distinct non-negative seeds", repr(text))
    return seeds


def parse_settings(items):
    """``["lr=0.01", "hidden=[[60, 20]]"]`` -> ``{"lr": 0.01, ...}``: values read as YAML, keys checked later."""
    from ..optional import require

    yaml = require("yaml", "--set values")
    out = {}
    for item in items or ():
        key, sep, value = str(item).partition("=")
        if not sep or not key.strip():
            raise input_error("--set", "key=value (a TrainConfig field and its value)", repr(item))
        out[key.strip()] = yaml.safe_load(value)
    return out


def _job(task):
    cfg_dict, out, threads, device = task
    import torch

    from .trainer import train_from_config

    old = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    t0 = time.perf_counter()
    row = {"job": Path(out).name, "seed": cfg_dict["seed"], "out_dir": str(out)}
    try:
        metrics = Path(out) / "metrics.json"
        if metrics.is_file():  # finished before: read it back
            m = json.loads(metrics.read_text())
            row["status"] = "done before"
        else:
            res = train_from_config(TrainConfig.from_dict(cfg_dict), out, resume=True, progress=False, device=device)
            m = json.loads(metrics.read_text()) if metrics.is_file() else {"test_accuracy": res.test_accuracy,
                                                                            "history": []}
            row["status"] = "trained" if not res.resumed_from_epoch else f"resumed at epoch {res.resumed_from_epoch}"
        hist = m.get("history", [])
        val = [h.get("val_accuracy") for h in hist if h.get("val_accuracy") is not None]
        row.update({"test_accuracy": m.get("test_accuracy"), "best_val_accuracy": max(val) if val else None,
                    "selected_epoch": m.get("selected_epoch"), "epochs": len(hist), "error": None})
    except Exception as exc:  # noqa: BLE001 - one job's failure is reported, the others finish
        row.update({"status": "failed", "error": f"{type(exc).__name__}: {exc}"})
    finally:
        torch.set_num_threads(old)
    row["seconds"] = round(time.perf_counter() - t0, 3)
    return row


def job_devices(device, n_jobs, *, n_gpus=None):
    """The device of each of ``n_jobs`` jobs: one per GPU, round robin, where there are several.

    ``device``: None or ``"cpu"`` (every job), ``"cuda"`` (job ``k`` on ``cuda:{k % n_gpus}`` when there are
    several GPUs, else ``"cuda"``), ``"cuda:N"`` (every job there), or several devices, as a list or one
    comma-separated string (``"cuda:0,cuda:2"``), used round robin. Jobs are submitted in order, so with as many
    workers as devices the jobs that run side by side are on different devices. ``n_gpus``: default
    ``torch.cuda.device_count()``.
    """
    if device is None:
        return [None] * n_jobs
    if isinstance(device, str):
        items = [d.strip() for d in device.split(",")]
    elif isinstance(device, (list, tuple)):
        items = [str(d).strip() for d in device]
    else:
        raise input_error("device", "None, a device name or several (a list or 'cuda:0,cuda:1')", repr(device))
    for d in items:
        if not (d == "cpu" or d == "cuda" or (d.startswith("cuda:") and d[5:].isdigit())):
            raise input_error("device", "cpu, cuda or cuda:N (several comma-separated)", repr(device))
    if items == ["cuda"]:
        if n_gpus is None:
            import torch

            n_gpus = torch.cuda.device_count()
        items = [f"cuda:{k}" for k in range(n_gpus)] if n_gpus > 1 else ["cuda"]
    return [items[k % len(items)] for k in range(n_jobs)]


def sweep(config, out_dir, *, seeds=(0,), settings=None, grid=None, executor=None, threads=1, device=None):
    """Train one network per (combination of ``grid`` values, seed); see the module docstring.

    Parameters
    ----------
    config : TrainConfig, dict, YAML path or bundled name
    out_dir : str or Path
    seeds : sequence of int
        Each job's ``seed`` (the data split keeps the config's ``data_seed``).
    settings : dict, optional
        Field -> value, the same for every job.
    grid : dict, optional
        Field -> list of values; every combination is a setting (one job per setting and seed).
    executor : None or an executor (:func:`synsem_ephys.parallel.map_tasks`)
    threads : int
        torch threads per job.
    device : str or list of str, optional
        Passed to the trainer; several GPUs get one job each in turn (:func:`job_devices`).

    Returns
    -------
    SweepResult
    """
    if isinstance(config, dict):
        config = TrainConfig.from_dict(config)
    elif not isinstance(config, TrainConfig):
        config = load_config(config)
    seeds = list(seeds)
    if not seeds:
        raise input_error("seeds", "at least one seed", "none")
    settings, grid = dict(settings or {}), dict(grid or {})
    for k, v in grid.items():
        if not isinstance(v, (list, tuple)) or not v:
            raise input_error(f"grid[{k!r}]", "a non-empty list of values", repr(v))
    config = config.replace(**settings)
    keys, grids = list(grid), [list(v) for v in grid.values()]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tasks, labels = [], []
    for combo in itertools.product(*grids):
        change = dict(zip(keys, combo))
        tag = "_".join(f"{k}-{v}" for k, v in change.items()).replace(" ", "").replace("/", "-") or "base"
        for s in seeds:
            cfg = config.replace(seed=int(s), **change)  # validated here, before any job starts
            tasks.append([cfg.to_dict(), out / f"{tag}_seed{s}", int(threads), None])
            labels.append(change)
    for task, dev in zip(tasks, job_devices(device, len(tasks))):
        task[3] = dev
    tasks = [tuple(t) for t in tasks]
    rows = map_tasks(_job, tasks, executor=executor)
    for r, change in zip(rows, labels):
        r["settings"] = json.dumps(change, sort_keys=True)
    keys_out = list(dict.fromkeys(k for r in rows for k in r))
    buf = _io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys_out, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k) for k in keys_out})
    csv_path = write_text_atomic(out / "sweep.csv", buf.getvalue())
    n_failed = sum(r.get("error") is not None for r in rows)
    json_path = write_text_atomic(out / "sweep.json", json_dumps(
        {"config": config.to_dict(), "seeds": seeds, "settings": settings, "grid": grid, "n_failed": n_failed,
         "rows": rows, "by_setting": seed_table(rows)}, indent=1, nonfinite_to_none=True))
    return SweepResult(tuple(rows), csv_path, json_path, n_failed)


def seed_table(rows, key="test_accuracy"):
    """Per setting: n seeds, mean, SD (ddof 1), min and max of ``key`` over the jobs that finished."""
    groups = {}
    for r in rows:
        if r.get(key) is not None:
            groups.setdefault(r.get("settings", "{}"), []).append(float(r[key]))
    out = []
    for setting, v in groups.items():
        a = np.asarray(v)
        out.append({"settings": setting, "n": int(a.size), "mean": float(a.mean()),
                    "sd": float(a.std(ddof=1)) if a.size > 1 else float("nan"), "min": float(a.min()),
                    "max": float(a.max())})
    return out
