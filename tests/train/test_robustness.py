"""Robustness evaluation: accuracy over perturbation grids, seeded per cell, JSON, figure, network files."""

import json
import math

import numpy as np
import pytest
import torch

from synsem_ephys.decision import predict
from synsem_ephys.perturb import perturb
from synsem_ephys.train.robustness import (RobustnessTable, _draw_seed, evaluate, evaluate_file, plot, read_json,
                                           write_json)
from synsem_ephys.train.trainer import NETWORK_NAME, train_from_config


YY = dict(dataset="yinyang", train_size=300, test_size=150, hidden=[[30, 0]], epochs=3, batch_size=30, lr=0.01,
          weight_init_mean=[2.76, 7.36], weight_init_std=[1.47, 11.77], val_fraction=0.1, seed=1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("rob")
    res = train_from_config(YY, out, progress=False)
    from synsem_ephys.train import LatencyCode, TrainConfig, load_dataset

    cfg = TrainConfig(**YY)
    test = load_dataset("yinyang", "test", seed=0, n_samples=150)
    return res.network, LatencyCode.from_config(cfg).encode(test.x), np.asarray(test.y), out


def test_cells_match_a_direct_computation_and_do_not_depend_on_the_grid(trained):
    net, t, y, _ = trained
    tab = evaluate(net, t, y, jitter=[0, 0.1, 0.4], deletion=[0.2], insertion=[0.05], n_draws=4, seed=3)
    assert [(r.kind, r.strength) for r in tab.rows] == [("jitter", 0.0), ("jitter", 0.1), ("jitter", 0.4),
                                                        ("deletion", 0.2), ("insertion", 0.05)]
    with torch.no_grad():
        clean = float(np.mean(predict(net(torch.tensor(t))[-1]).numpy() == y))
    assert tab.clean_accuracy == clean and tab.rows[0].accuracies == (clean,) * 4 and tab.rows[0].accuracy_sd == 0
    row = tab.rows[3]
    want = []
    for k in range(4):
        tp = perturb(t, "deletion", 0.2, tau_syn_ms=5.0, t_late=2.0, rng=np.random.default_rng(_draw_seed(3, "deletion", 0.2, k)))
        with torch.no_grad():
            want.append(float(np.mean(predict(net(torch.tensor(tp))[-1]).numpy() == y)))
    assert row.accuracies == tuple(want) and len(set(want)) > 1  # draws differ
    assert row.accuracy_mean == pytest.approx(np.mean(want))
    assert row.ci95_low < row.accuracy_mean < row.ci95_high
    from scipy import stats

    half = stats.t.ppf(0.975, 3) * np.std(want, ddof=1) / 2
    assert row.ci95_high - row.accuracy_mean == pytest.approx(half)
    other = evaluate(net, t, y, jitter=[0.4], n_draws=4, seed=3)  # the cell alone: the same draws
    assert other.rows[0] == tab.rows[2]
    assert evaluate(net, t, y, jitter=[0.4], n_draws=4, seed=4).rows[0] != tab.rows[2]


def test_strong_perturbations_destroy_accuracy(trained):
    net, t, y, _ = trained
    tab = evaluate(net, t, y, deletion=[0, 1.0], jitter=[0, 2.0], n_draws=2, seed=0)
    s, m, _, _ = tab.curve("deletion")
    assert tab.clean_accuracy > 0.6 and m[1] == 0.0  # no input spike, no output spike: every sample wrong
    assert tab.curve("jitter")[1][1] < tab.clean_accuracy - 0.1
    assert tab.normalised_auc("deletion") == pytest.approx(tab.clean_accuracy / 2)
    assert 0 < tab.half_drop_strength("deletion") < 1.0
    assert tab.half_drop_strength("deletion") == pytest.approx(
        (tab.clean_accuracy - (tab.clean_accuracy + 1 / 3) / 2) / tab.clean_accuracy)


def test_json_round_trip_and_figure(trained, tmp_path):
    net, t, y, _ = trained
    tab = evaluate(net, torch.tensor(t), torch.tensor(y), jitter=[0, 0.2], insertion=[0.1], n_draws=2, seed=1)
    p = write_json(tab, tmp_path / "r.json", extra={"note": "x"})
    d = json.loads(p.read_text())
    assert d["extra"] == {"note": "x"} and set(d["summary"]) == {"jitter", "insertion"}
    assert read_json(p) == tab and isinstance(tab, RobustnessTable)
    with pytest.raises(Exception):
        tab.rows[0].kind = "x"  # frozen
    pytest.importorskip("matplotlib")
    fig = plot({"a": tab, "b": tab}, tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 1000 and len(fig.axes) == 2


def test_evaluate_file_reads_the_networks_config(trained, tmp_path):
    net, t, y, out = trained
    tab = evaluate_file(out / NETWORK_NAME, tmp_path / "rob", jitter=[0, 0.1], deletion=[0.1], n_draws=2, seed=0,
                        figure=False)
    assert (tmp_path / "rob" / "robustness.json").is_file()
    direct = evaluate(net, t, y, jitter=[0, 0.1], deletion=[0.1], n_draws=2, seed=0)
    assert tab.rows == direct.rows and tab.t_late == 2.0 and tab.n_samples == 150


def test_bad_arguments(trained):
    net, t, y, _ = trained
    for kw, match in ((dict(deletion=[1.5]), "deletion"), (dict(jitter=[-0.1]), "jitter"), (dict(jitter=0.1), "jitter"),
                      (dict(n_draws=0), "n_draws"), (dict(seed=-1), "seed")):
        with pytest.raises(ValueError, match=match):
            evaluate(net, t, y, **kw)
    with pytest.raises(ValueError, match="labels"):
        evaluate(net, t, y[:-1], jitter=[0.1])
    with pytest.raises(ValueError, match="inputs_ms"):
        evaluate(net, t[:, :3], y, jitter=[0.1])
    one = evaluate(net, t, y, jitter=[0.1], n_draws=1)
    assert math.isnan(one.rows[0].ci95_low) and math.isnan(one.rows[0].accuracy_sd)
