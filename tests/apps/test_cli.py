"""The command line end to end: simulate summary, demo report, analyze on a NIX file written by the simulator."""

import json

import numpy as np
import torch

from synsem_ephys.cli import main
from synsem_ephys.io import write_nix
from synsem_ephys.sim import Network
from synsem_ephys.spec import NetworkSpec


def test_simulate_prints_every_layer(capsys):
    assert main(["simulate", "--trials", "20", "--n-inputs", "20", "--layers", "2",
                 "--n-exc", "12", "--n-inh", "4", "--n-outputs", "3"]) == 0
    out = capsys.readouterr().out
    for name in ("input", "hidden1", "hidden2", "output"):
        assert f"\n{name}" in out


def test_demo_command_writes_the_report(capsys, tmp_path):
    # the small digits network (seconds); the default MNIST network's demo runs in tests/test_demo.py
    from synsem_ephys.demo import DATA_DIR

    assert main(["demo", "--out", str(tmp_path), "--network", str(DATA_DIR / "digits_dale.pt"), "--n-trials", "80",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "80 test images, accuracy" in out and "ig_E_rises" in out and "pathways_distinct" in out
    assert (tmp_path / "report.html").stat().st_size > 0 and (tmp_path / "recording.nix").stat().st_size > 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["n_trials"] == 80


def test_analyze_command_on_a_simulated_nix_file(tmp_path, capsys):
    spec = NetworkSpec(16, hidden=((12, 4), (12, 4)), n_outputs=3)
    net = Network(spec, seed=1)
    g = np.random.default_rng(0)
    labels = g.integers(0, 3, size=60)
    x = torch.tensor(g.uniform(size=(60, 16)))
    x[np.arange(60), labels * 5] = 1.0  # one class-specific early input per class
    t_in = (0.15 + (1 - x) * 1.85) * spec.tau_syn_ms
    net.calibrate_(t_in)
    rec = net.record(t_in, labels=labels)
    nix = tmp_path / "rec.nix"
    write_nix(rec, nix)
    netfile = tmp_path / "net.pt"
    net.save(netfile)
    out = tmp_path / "report"
    assert main(["analyze", str(nix), "--out", str(out), "--network", str(netfile), "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary and (out / "report.html").stat().st_size > 0
    assert "report.html" in capsys.readouterr().out


def test_analyze_many_files_and_sweep_from_the_command_line(tmp_path, capsys):
    from helpers import sim_record

    files = [str(write_nix(sim_record(n_trials=20, seed=s)[0], tmp_path / f"r{s}.nix")) for s in (0, 1)]
    bad = tmp_path / "bad.nix"
    bad.write_bytes(b"junk")
    code = main(["analyze", *files, str(bad), "--out", str(tmp_path / "many"), "--min-active-trials", "2",
                 "--no-progress"])
    out = capsys.readouterr().out
    assert code == 1 and "FAILED" in out and "2 of 3 recordings analysed" in out  # exit status = files failed
    assert (tmp_path / "many" / "summary.csv").is_file() and (tmp_path / "many" / "r0" / "report.html").is_file()
    assert main(["analyze", files[0], "--out", str(tmp_path / "x"), "--align", "licks"]) == 2
    assert "--align / --window-ms: expected both or neither" in capsys.readouterr().err
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text("dataset: yinyang\ntrain_size: 40\ntest_size: 20\nepochs: 1\nhidden: [[6, 0]]\nval_fraction: 0.0\n"
                   "batch_size: 20\neval_batch_size: 20\n")
    assert main(["sweep", "--config", str(cfg), "--seeds", "0-1", "--grid", "lr=[0.01, 0.02]",
                 "--out", str(tmp_path / "sw")]) == 0
    out = capsys.readouterr().out
    assert out.count("trained") == 4 and "over 2 seeds" in out
    assert main(["sweep", "--config", str(cfg), "--seeds", "2-1", "--out", str(tmp_path / "sw2")]) == 2
    assert "--seeds: expected" in capsys.readouterr().err


def test_robustness_command_on_the_digits_network(tmp_path, capsys):
    from synsem_ephys.demo import DATA_DIR

    assert main(["robustness", str(DATA_DIR / "digits_dale.pt"), "--jitter", "0,0.2", "--deletion", "0.2",
                 "--insertion", "0.05", "--draws", "2", "--no-figure", "--out", str(tmp_path / "rb")]) == 0
    out = capsys.readouterr().out
    assert "jitter 0.2: accuracy" in out and "deletion 0.2" in out and (tmp_path / "rb" / "robustness.json").is_file()
    import pytest

    with pytest.raises(SystemExit) as info:  # argparse's one-line error and exit status 2
        main(["robustness", str(DATA_DIR / "digits_dale.pt"), "--jitter=-1", "--out", str(tmp_path / "x")])
    assert info.value.code == 2 and "--jitter" in capsys.readouterr().err


def test_analyze_spike_time_text_files_by_content(tmp_path, capsys):
    g = np.random.default_rng(3)
    rows = sorted((float(t), int(u)) for u in range(4) for t in g.uniform(0.0, 20.0, 30))
    csv = tmp_path / "sorting_export.csv"
    csv.write_text("# time_s,unit\n" + "".join(f"{t:.6f},{u}\n" for t, u in rows))
    cells = tmp_path / "cells"
    cells.mkdir()
    for u in range(3):
        (cells / f"cell{u}").write_text("\n".join(f"{t:.3f}" for t in np.sort(g.uniform(0, 5000, 40))))
    assert main(["analyze", str(csv), "--out", str(tmp_path / "a"), "--time-unit", "s", "--no-progress"]) == 0
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["n_units"] == 4 and summary["n_spikes"] == len(rows)
    assert main(["analyze", str(cells), "--out", str(tmp_path / "b"), "--time-unit", "ms", "--no-progress"]) == 0
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["n_units"] == 3
    capsys.readouterr()
    for argv, flag in ((["--no-progress"], "--time-unit"), (["--time-unit", "s", "--trials", "trials"], "--trials"),
                       (["--time-unit", "s", "--sampling-rate-hz", "3"], "--sampling-rate-hz")):
        assert main(["analyze", str(csv), "--out", str(tmp_path / "c")] + argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"error: {flag}" in err[0], err


def test_analyze_and_demo_with_a_delay_network_and_its_initial_network(tmp_path, capsys):
    from synsem_ephys.train import train_from_config
    from synsem_ephys.train.trainer import INITIAL_NETWORK_NAME, NETWORK_NAME

    cfg = {"dataset": "digits", "hidden": [[12, 4]], "dale": True, "epochs": 0, "train_size": 200, "test_size": 100,
           "val_fraction": 0.0, "delay_kind": "synaptic", "delay_max_ms": 5.0, "delay_init": "uniform", "seed": 2}
    run = tmp_path / "run"
    res = train_from_config(cfg, run, progress=False)
    assert (run / INITIAL_NETWORK_NAME).is_file()
    net = res.network
    # demo: the delays left out of recording.nix, the report takes them and the initial network from the file
    out = tmp_path / "demo"
    assert main(["demo", "--network", str(run / NETWORK_NAME), "--n-trials", "30", "--no-delays-in-meta",
                 "--no-progress", "--out", str(out)]) == 0
    g = json.loads((out / "summary.json").read_text())["delays"]
    assert g["initial"] == INITIAL_NETWORK_NAME and g["ei_structure"][0]["initial"] is not None
    from synsem_ephys.io import read_nix_record

    rec = read_nix_record(out / "recording.nix")
    assert "delays_ms" not in rec.meta and rec.meta["delays_in_meta"] is False
    # analyze: --network gives the delays (the file has none) and names network_init.pt
    assert main(["analyze", str(out / "recording.nix"), "--out", str(tmp_path / "a"), "--network",
                 str(run / NETWORK_NAME), "--no-progress"]) == 0
    a = json.loads((tmp_path / "a" / "summary.json").read_text())["delays"]
    assert a["initial"] == str(run / INITIAL_NETWORK_NAME)
    assert a["ei_structure"][0]["initial"] == g["ei_structure"][0]["initial"]
    # --initial: another network at initialisation, given explicitly
    other = tmp_path / "other.pt"
    Network(net.spec, seed=7, delay_init="uniform").save(other)
    assert main(["analyze", str(out / "recording.nix"), "--out", str(tmp_path / "b"), "--network",
                 str(run / NETWORK_NAME), "--initial", str(other), "--no-progress"]) == 0
    b = json.loads((tmp_path / "b" / "summary.json").read_text())["delays"]
    assert b["initial"] == str(other) and b["ei_structure"][0]["initial"] != a["ei_structure"][0]["initial"]
    capsys.readouterr()
    assert main(["analyze", str(out / "recording.nix"), "--out", str(tmp_path / "c"), "--initial", str(other)]) == 2
    assert "--initial: expected --network with it" in capsys.readouterr().err
    wrong = tmp_path / "wrong.pt"
    Network(NetworkSpec(64, hidden=((6, 2),), n_outputs=10), seed=1).save(wrong)
    assert main(["analyze", str(out / "recording.nix"), "--out", str(tmp_path / "c"), "--network",
                 str(run / NETWORK_NAME), "--initial", str(wrong)]) == 2
    assert "--initial: expected a network with the spec of --network" in capsys.readouterr().err
    # --no-initial: the third null left out; with --initial too: one line naming the flag
    assert main(["analyze", str(out / "recording.nix"), "--out", str(tmp_path / "d"), "--network",
                 str(run / NETWORK_NAME), "--no-initial", "--no-progress"]) == 0
    dd = json.loads((tmp_path / "d" / "summary.json").read_text())["delays"]
    assert dd["initial"] is None and "initial" not in dd["ei_structure"][0] and "initial" not in dd["nulls"]
    assert dd["ei_structure"][0]["summary"] == a["ei_structure"][0]["summary"]
    capsys.readouterr()
    assert main(["analyze", str(out / "recording.nix"), "--out", str(tmp_path / "e"), "--network",
                 str(run / NETWORK_NAME), "--no-initial", "--initial", str(other)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--no-initial: expected either --no-initial or --initial PATH" in err[0], err
