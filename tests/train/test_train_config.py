"""TrainConfig validation and YAML round trip; bundled configs; checkpoint files."""

import math
import os

import numpy as np
import pytest
import torch

from synsem_ephys.errors import DataFormatError, DataMissingError
from synsem_ephys.train.checkpoint import load_checkpoint, restore_rng, rng_state, save_checkpoint
from synsem_ephys.train.config import ConfigError, TrainConfig, bundled_config_names, load_config


# ------------------------------------------------------------------------------ config
def test_defaults_valid_and_round_trip(tmp_path):
    c = TrainConfig()
    assert c.network_spec().layer_sizes == [5, 120, 3]
    assert TrainConfig.from_yaml(c.to_yaml()) == c
    c.to_yaml(tmp_path / "c.yaml")
    assert TrainConfig.from_yaml(tmp_path / "c.yaml") == c
    c2 = TrainConfig(dataset="digits", hidden=[[20, 5], [10, 2]], dale=True, weight_init_mean=0.5,
                     weight_init_std=[0.1, 0.2, 0.3], max_silent_fraction=0.2)
    assert c2.hidden == ((20, 5), (10, 2)) and c2.weight_init_mean == (0.5, 0.5, 0.5)
    assert c2.silent_fractions == (0.2, 0.2, 0.2)
    assert TrainConfig.from_dict(c2.to_dict()) == c2


def test_bundled_configs():
    mn = load_config("mnist_dale")
    assert mn.network_spec().layer_sizes == [784, 400, 400, 400, 400, 10]
    assert mn.dale and mn.hidden == ((300, 100),) * 4 and (mn.xi, mn.alpha, mn.beta) == (0.2, 0.005, 1.0)
    spec = mn.network_spec()
    assert spec.presyn_signs(1) == [1] * 300 + [-1] * 100
    yy = load_config("yinyang.yaml")
    assert yy.network_spec().layer_sizes == [5, 120, 3] and yy.silent_fractions == (0.3, 0.05)
    assert load_config(os.path.join(os.path.dirname(__file__), "..", "..", "synsem_ephys", "train", "configs",
                                    "yinyang.yaml")) == yy
    # every bundled YAML is a valid config, reachable by its name
    folder = os.path.join(os.path.dirname(__file__), "..", "..", "synsem_ephys", "train", "configs")
    names = bundled_config_names()
    assert names == sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".yaml"))
    assert {"mnist_dale", "mnist_dale_finetune", "digits_dale", "yinyang"} <= set(names)
    for name in names:
        assert load_config(name) == load_config(os.path.join(folder, name + ".yaml"))


def test_schedule_and_derived():
    c = TrainConfig(lr=0.01, lr_step_epochs=3, lr_gamma=0.5)
    assert [c.lr_at_epoch(e) for e in range(7)] == [0.01] * 3 + [0.005] * 3 + [0.0025]
    assert TrainConfig(hidden=[[10, 0], [10, 0]]).silent_fractions == (0.3, 0.3, 0.0)
    assert c.replace(seed=3).seed == 3
    with pytest.raises(ConfigError, match="lr"):
        c.replace(lr=0.0)


def test_yaml_number_strings_are_read():
    c = TrainConfig.from_yaml("lr: 5e-3\nadam_eps: 1e-8\nhidden: [120]\n")
    assert c.lr == 0.005 and c.adam_eps == 1e-8 and c.hidden == ((120, 0),)


@pytest.mark.parametrize("key, value, expected", [
    ("dataset", "cifar10", "one of"),
    ("lr", -0.1, "positive"),
    ("lr", "fast", "a number"),
    ("epochs", 2.5, "integer"),
    ("epochs", True, "integer"),
    ("batch_size", 0, ">= 1"),
    ("hidden", [], "non-empty"),
    ("hidden", [[10, 3]], "n_inh == 0"),
    ("hidden", [[10, -1]], "n_exc, n_inh"),
    ("dale", "yes", "true or false"),
    ("tau_mem_ms", 7.0, "1 or 2"),
    ("t_late", 0.1, "greater than t_early"),
    ("xi", math.inf, "finite"),
    ("val_fraction", 1.0, "[0, 1)"),
    ("lr_gamma", 1.5, "(0, 1]"),
    ("adam_betas", [0.9], "two floats"),
    ("adam_betas", [0.9, 1.0], "two floats"),
    ("max_silent_fraction", [0.1, 0.2, 0.3], "list of 2"),
    ("max_silent_fraction", 1.5, "[0, 1]"),
    ("max_grad_per_neuron", 0.0, "positive"),
    ("weight_init_mean", [1.0], "list of 2"),
    ("weight_init_mean", [1.0, 0.5], "both or neither"),
    ("weight_init_std", [1.0, -0.5], "positive"),
    ("dtype", "float16", "float64"),
    ("weight_init_inh_balance", -1.0, "non-negative"),
    ("weight_init_inh_balance", [1.0], "list of 2"),
    ("init_calibrate_fraction", [0.9, 0.5], "lo <= hi"),
    ("init_calibrate_fraction", 0.5, "[lo, hi]"),
    ("init_calibrate_output", [0.9, 1.0], "init_calibrate_fraction"),
    ("init_calibrate_samples", 0, ">= 1"),
    ("lr_layer_factors", [1.0], "list of 2"),
    ("lr_layer_factors", [1.0, 0.0], "positive"),
    ("seed", -1, ">= 0"),
    ("data_dir", 3, "path"),
    ("augment_shift_px", -1, ">= 0"),
    ("augment_shift_px", 1, "non-image dataset"),
    ("init_network", 3, "network file path"),
])
def test_bad_values_name_key_expected_got(key, value, expected):
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_dict({key: value})
    msg = str(info.value)
    assert key.split("[")[0] in msg and "expected" in msg and "got" in msg and expected in msg, msg


def test_augment_shift_bounded_by_the_image_size():
    assert TrainConfig(dataset="digits", augment_shift_px=7).augment_shift_px == 7
    with pytest.raises(ConfigError, match=r"augment_shift_px.*\[0, 7\].*'digits'.*got 8"):
        TrainConfig(dataset="digits", augment_shift_px=8)


def test_unknown_key_suggests_and_file_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="Did you mean 'batch_size'"):
        TrainConfig.from_dict({"batchsize": 10})
    p = tmp_path / "bad.yaml"
    p.write_text("dataset: yinyang\nlr: -1\n")
    with pytest.raises(ConfigError, match="bad.yaml.*'lr'"):
        TrainConfig.from_yaml(p)
    p.write_text("dataset: [unclosed\n")
    with pytest.raises(ConfigError, match="YAML"):
        TrainConfig.from_yaml(p)
    p.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        TrainConfig.from_yaml(p)
    with pytest.raises(DataMissingError, match="nope.yaml"):
        TrainConfig.from_yaml(tmp_path / "nope.yaml")
    with pytest.raises(DataMissingError, match="mnist_dale"):
        load_config("no_such_config")


# ------------------------------------------------------------------------------ checkpoints
def test_checkpoint_round_trip_with_optimizer_and_rng(tmp_path):
    w = torch.nn.Parameter(torch.randn(3, 4, dtype=torch.float64))
    opt = torch.optim.Adam([w], lr=0.01)
    w.sum().backward()
    opt.step()
    tg, ng = torch.Generator().manual_seed(5), np.random.default_rng(7)
    torch_rng, numpy_rng = rng_state({"shuffle": tg}, {"data": ng})
    state = {"epoch": 3, "metrics": [{"acc": np.float64(0.5)}], "arr": np.arange(3), "numpy_rng": numpy_rng,
             "cfg": TrainConfig().to_dict()}
    path = save_checkpoint(tmp_path / "ck.pt", tensors={"w": w}, state=state, optimizer=opt.state_dict(),
                           torch_rng=torch_rng)
    want_t, want_n = torch.rand(5, generator=tg), ng.random(5)
    ck = load_checkpoint(path)
    assert torch.equal(ck.tensors["w"], w.detach()) and ck.state["epoch"] == 3
    assert ck.state["metrics"][0]["acc"] == 0.5 and ck.state["arr"] == [0, 1, 2]
    assert TrainConfig.from_dict(ck.state["cfg"]) == TrainConfig()
    tg2, ng2 = torch.Generator(), np.random.default_rng(0)
    restore_rng(ck.torch_rng, ck.state["numpy_rng"], {"shuffle": tg2}, {"data": ng2})
    assert torch.equal(torch.rand(5, generator=tg2), want_t) and np.array_equal(ng2.random(5), want_n)
    opt2 = torch.optim.Adam([torch.nn.Parameter(ck.tensors["w"].clone())], lr=0.5)
    opt2.load_state_dict(ck.optimizer)
    assert opt2.param_groups[0]["lr"] == 0.01
    assert torch.equal(opt2.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]  # no temporary file left


def test_checkpoint_overwrite_is_atomic_and_failure_keeps_old(tmp_path):
    p = tmp_path / "ck.pt"
    save_checkpoint(p, tensors={"w": torch.zeros(2)}, state={"epoch": 1})
    with pytest.raises(TypeError, match="JSON"):
        save_checkpoint(p, tensors={"w": torch.ones(2)}, state={"bad": object()})
    assert load_checkpoint(p).state["epoch"] == 1 and len(list(tmp_path.iterdir())) == 1
    save_checkpoint(p, tensors={"w": torch.ones(2)}, state={"epoch": 2})
    assert load_checkpoint(p).state["epoch"] == 2
    mask = os.umask(0o022)
    os.umask(mask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~mask  # an ordinary file's mode, not mkstemp's 0600


def test_checkpoint_errors(tmp_path):
    with pytest.raises(DataMissingError):
        load_checkpoint(tmp_path / "none.pt")
    with pytest.raises(DataMissingError, match="directory"):
        save_checkpoint(tmp_path / "no" / "dir.pt", tensors={}, state={})
    p = tmp_path / "ck.pt"
    save_checkpoint(p, tensors={"w": torch.zeros(100)}, state={"epoch": 1})
    p.write_bytes(p.read_bytes()[:200])
    with pytest.raises(DataFormatError, match="could not read"):
        load_checkpoint(p)
    torch.save({"something": 1}, p)
    with pytest.raises(DataFormatError, match="format"):
        load_checkpoint(p)
    g = np.random.default_rng(0)
    with pytest.raises(ValueError, match="saved state"):
        restore_rng({}, {}, numpy_generators={"data": g})


def test_datasets_config_encoding_import_without_torch():
    import subprocess
    import sys

    code = ("import sys; import synsem_ephys.train as t; t.load_config('yinyang'); t.yin_yang(5, 0); "
            "t.latency_encode([0.5], tau_syn_ms=1.0); assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
