"""Many recordings and many networks: analyze_many and sweep, serial and on a process pool, equal results."""

import concurrent.futures
import json
import multiprocessing

import pytest

from helpers import sim_record
from synsem_ephys.io import write_nix
from synsem_ephys.report import ReportOptions, analyze_many

FAST = ReportOptions(n_shuffles=10, complexity_trials=0, min_active_trials=2, n_pathway_shuffles=0)


@pytest.fixture(scope="module")
def pool():
    ex = concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
    yield ex
    ex.shutdown()


def test_analyze_many_reports_every_file_and_the_failures(tmp_path, pool):
    files = [write_nix(sim_record(n_trials=20, seed=s)[0], tmp_path / f"run{s}.nix") for s in (0, 1)]
    bad = tmp_path / "broken.nix"
    bad.write_bytes(b"not a NIX file")
    serial = analyze_many(files + [bad], tmp_path / "serial", options=FAST, graphml=False)
    parallel = analyze_many(files + [bad], tmp_path / "pool", options=FAST, graphml=False, executor=pool)
    assert serial.n_failed == parallel.n_failed == 1
    for a, b in zip(serial.rows, parallel.rows):
        assert {k: v for k, v in a.items() if k not in ("seconds", "report")} == \
               {k: v for k, v in b.items() if k not in ("seconds", "report")}
    assert "DataFormatError" in serial.rows[2]["error"] and serial.rows[0]["error"] is None
    assert (tmp_path / "serial" / "run0" / "report.html").is_file()
    table = serial.csv.read_text().splitlines()
    assert len(table) == 4 and "check_ig_E_rises" in table[0]
    assert json.loads(serial.json.read_text())["n_failed"] == 1


def test_sweep_trains_one_resumable_job_per_seed_and_setting(tmp_path, pool):
    pytest.importorskip("yaml")
    from synsem_ephys.train import TrainConfig, seed_table, sweep
    from synsem_ephys.train.sweeps import parse_seeds, parse_settings

    cfg = TrainConfig(dataset="yinyang", train_size=60, test_size=40, epochs=1, hidden=[[8, 0]], val_fraction=0.0,
                      batch_size=20, eval_batch_size=40)
    first = sweep(cfg, tmp_path / "s", seeds=parse_seeds("0-1"), grid={"lr": [0.01, 0.02]})
    assert [r["status"] for r in first.rows] == ["trained"] * 4 and first.n_failed == 0
    again = sweep(cfg, tmp_path / "s", seeds=[0, 1], grid={"lr": [0.01, 0.02]}, executor=pool)
    assert [r["status"] for r in again.rows] == ["done before"] * 4
    fresh = sweep(cfg, tmp_path / "p", seeds=[0, 1], grid={"lr": [0.01, 0.02]}, executor=pool)
    assert [r["test_accuracy"] for r in fresh.rows] == [r["test_accuracy"] for r in first.rows]
    table = seed_table(first.rows)
    assert len(table) == 2 and all(t["n"] == 2 and t["min"] <= t["mean"] <= t["max"] for t in table)
    assert parse_settings(["lr=0.5", "hidden=[[4, 0]]"]) == {"lr": 0.5, "hidden": [[4, 0]]}
    with pytest.raises(ValueError, match="--seeds: expected"):
        parse_seeds("3-1")
    with pytest.raises(ValueError, match="--set: expected key=value"):
        parse_settings(["lr"])


def test_sweep_jobs_are_placed_one_per_gpu_in_turn():
    from synsem_ephys.train.sweeps import job_devices

    assert job_devices(None, 3) == [None] * 3 and job_devices("cpu", 2) == ["cpu", "cpu"]
    assert job_devices("cuda", 5, n_gpus=2) == ["cuda:0", "cuda:1", "cuda:0", "cuda:1", "cuda:0"]
    assert job_devices("cuda", 2, n_gpus=1) == ["cuda", "cuda"] and job_devices("cuda", 2, n_gpus=0) == ["cuda", "cuda"]
    assert job_devices("cuda:1", 2, n_gpus=4) == ["cuda:1", "cuda:1"]
    assert job_devices("cuda:0, cuda:2", 3) == ["cuda:0", "cuda:2", "cuda:0"] == job_devices(["cuda:0", "cuda:2"], 3)
    for bad in ("gpu", "cuda:x", 3):
        with pytest.raises(ValueError, match="^device:"):
            job_devices(bad, 2)
