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
