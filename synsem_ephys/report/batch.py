"""Many recordings: one report per file and a combined summary table, fanned out on any executor.

``analyze_many(paths, out_dir)`` writes ``out_dir/<name>/`` (the report of each file, as
:func:`~synsem_ephys.report.analyze_file` writes it) and ``out_dir/summary.csv`` + ``summary.json``: one row
per file with its size, accuracy, the verdict of every science check and the seconds it took, or the error
that stopped it. A failing file is reported and the others finish. Every file is an independent task
(:func:`synsem_ephys.parallel.map_tasks`): the same reports on any executor.
"""

import csv
import io as _io
import time
from dataclasses import dataclass
from pathlib import Path

from .._files import json_dumps, write_text_atomic
from ..errors import input_error
from ..parallel import map_tasks

__all__ = ["BatchResult", "analyze_many", "TABLE_NAME"]

TABLE_NAME = "summary"


@dataclass(frozen=True)
class BatchResult:
    """What :func:`analyze_many` wrote: the rows of the table, its files, and how many files failed."""

    rows: tuple
    csv: Path
    json: Path
    n_failed: int


def _one(task):
    path, out, options, graphml, read_options, signal, reader = task
    from .run import analyze_file

    t0 = time.perf_counter()
    try:
        rep = analyze_file(path, out, options=options, progress=False, graphml=graphml, read_options=read_options,
                           signal=signal, reader=reader)
    except Exception as exc:  # noqa: BLE001 - one file's failure is reported, the others finish
        return {"file": str(path), "report": None, "error": f"{type(exc).__name__}: {exc}",
                "seconds": round(time.perf_counter() - t0, 3)}
    r = rep.result
    row = {"file": str(path), "report": str(rep.html), "error": None, "n_units": r.n_units, "n_trials": r.n_trials,
           "n_spikes": r.n_spikes, "trial_duration_ms": r.trial_duration_ms, "accuracy": r.accuracy,
           "seconds": round(time.perf_counter() - t0, 3)}
    for c in r.checks:
        row[f"check_{c.name}"] = c.passed
    return row


def _names(paths):
    """Report folder names: the file stems, made unique with their index where two files share one."""
    stems = [Path(p).stem for p in paths]
    return [f"{s}_{k}" if stems.count(s) > 1 else s for k, s in enumerate(stems)]


def analyze_many(paths, out_dir, *, options=None, executor=None, graphml=True, read_options=None, signal=None,
                 reader=None):
    """Report on every recording in ``paths`` and write the combined table (see the module docstring).

    Parameters
    ----------
    paths : sequence of str or Path
        Recording files (``.nix``, ``.nwb``; :func:`synsem_ephys.io.read_recording`).
    out_dir : str or Path
        Created if missing.
    options : ReportOptions, optional
        The same for every file.
    executor : None or an executor (:func:`synsem_ephys.parallel.map_tasks`)
    graphml : bool
    read_options : dict, optional
        Passed to :func:`synsem_ephys.io.read_recording` for every file.
    signal : str, optional
        A signal every file holds: the tuning-curve section (:func:`~synsem_ephys.report.analyze_file`).
    reader : callable, optional
        ``reader(path, **read_options) -> SpikeRecord`` instead of :func:`synsem_ephys.io.read_recording`
        (e.g. :func:`synsem_ephys.adapters.any_file.read_any` for spike-time text files); it must pickle.

    Returns
    -------
    BatchResult
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise input_error("paths", "at least one recording file", "none")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tasks = [(p, out / name, options, graphml, read_options, signal, reader) for p, name in zip(paths, _names(paths))]
    rows = map_tasks(_one, tasks, executor=executor)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    buf = _io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k) for k in keys})
    csv_path = write_text_atomic(out / f"{TABLE_NAME}.csv", buf.getvalue())
    n_failed = sum(r["error"] is not None for r in rows)
    json_path = write_text_atomic(out / f"{TABLE_NAME}.json", json_dumps(
        {"n_files": len(rows), "n_failed": n_failed, "rows": rows}, indent=1, nonfinite_to_none=True))
    return BatchResult(tuple(rows), csv_path, json_path, n_failed)
