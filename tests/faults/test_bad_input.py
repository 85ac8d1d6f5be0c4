"""Bad input: no silent substitution, no silent coercion, edge sizes, and the command line's one-line errors
that name the flag the user typed (exit 2 for bad input, 1 for failures, a traceback only with --debug)."""

import math

import numpy as np
import pytest

from synsem_ephys.cli import main
from synsem_ephys.errors import ConfigError, DataMissingError, SpecError


def _one_error_line(capsys):
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip() and ": warning: " not in ln]
    assert len(err) == 1, err
    return err[0]


# ------------------------------------------------------------------------------------ no silent substitution
def test_demo_never_replaces_an_explicit_data_dir(tmp_path):
    from synsem_ephys.demo import run_demo

    with pytest.raises(DataMissingError, match=r"^data_dir: .*not a directory"):
        run_demo(tmp_path / "out", data_dir=tmp_path / "nope", progress=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataMissingError, match=r"^data_dir: MNIST file"):  # not the digits network instead
        run_demo(tmp_path / "out", data_dir=empty, n_trials=5, progress=False)
    assert not (tmp_path / "out" / "recording.nix").exists()


def test_demo_data_dir_with_a_digits_network_is_refused(tmp_path):
    from synsem_ephys.demo import DATA_DIR, run_demo

    with pytest.raises(ValueError, match=r"^data_dir: expected an MNIST network"):
        run_demo(tmp_path / "out", network=DATA_DIR / "digits_dale.pt", data_dir=tmp_path, n_trials=5, progress=False)


def test_cli_demo_with_a_wrong_data_dir_exits_2_naming_it(tmp_path, capsys):
    assert main(["demo", "--data-dir", str(tmp_path / "nope"), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    line = _one_error_line(capsys)
    assert line.startswith("synsem-ephys demo: error: --data-dir: ") and str(tmp_path / "nope") in line


def test_mistyped_environment_variables_are_named(monkeypatch, tmp_path, capsys):
    from synsem_ephys._files import environment_problems

    env = {"SYNSEM_DAT": str(tmp_path), "SYNSEM_MNIST_DIR": str(tmp_path / "nowhere"), "HOME": "/root"}
    problems = environment_problems(env)
    assert len(problems) == 2
    assert "SYNSEM_DAT" in problems[0] and "Did you mean SYNSEM_DATA?" in problems[0]
    assert "SYNSEM_MNIST_DIR" in problems[1] and "not a directory" in problems[1]
    assert environment_problems({"SYNSEM_DATA": str(tmp_path)}) == []
    monkeypatch.setenv("SYNSEM_DAT", str(tmp_path))
    monkeypatch.delenv("SYNSEM_DATA", raising=False)
    assert main(["simulate", "--trials", "2", "--n-inputs", "4", "--layers", "1", "--n-exc", "3", "--n-inh", "1",
                 "--n-outputs", "2"]) == 0
    err = capsys.readouterr().err
    assert "warning: environment variable SYNSEM_DAT" in err and "SYNSEM_DATA" in err


def test_a_data_root_that_names_no_directory_is_warned_about(monkeypatch, tmp_path):
    from synsem_ephys._files import data_root

    monkeypatch.setenv("SYNSEM_DATA", str(tmp_path / "nowhere"))
    with pytest.warns(UserWarning, match="SYNSEM_DATA"):
        assert data_root("mnist") == tmp_path / "nowhere" / "mnist"  # used as given, never replaced


# ------------------------------------------------------------------------------------ no silent coercion
@pytest.mark.parametrize("field, value", [
    ("threshold", "1.0"), ("threshold", True), ("threshold", math.nan), ("threshold", math.inf), ("threshold", None),
    ("tau_syn_ms", "5"), ("tau_syn_ms", True), ("tau_mem_ms", "10"), ("n_inputs", 3.0), ("n_inputs", "3"),
    ("n_inputs", True), ("n_outputs", 2.5), ("dale", 1),
])
def test_network_spec_refuses_values_it_would_have_to_coerce(field, value):
    from synsem_ephys.spec import NetworkSpec

    kwargs = dict(n_inputs=3, hidden=((2, 1),), n_outputs=2)
    kwargs[field] = value
    with pytest.raises(SpecError, match=f"^{field}: expected"):
        NetworkSpec(**kwargs)


def test_network_spec_takes_numpy_numbers_as_plain_ones():
    from synsem_ephys.spec import NetworkSpec

    spec = NetworkSpec(np.int64(3), hidden=((2, 1),), n_outputs=np.int32(2), threshold=np.float32(1.5),
                       tau_syn_ms=np.float64(5.0), tau_mem_ms=10)
    assert type(spec.n_inputs) is int and type(spec.threshold) is float and spec.tau_mem_ms == 10
    assert NetworkSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize("text, match", [
    ("epochs: 2\nlr: 0.01\nepochs: 3\n", r"key 'epochs' given twice \(lines 1 and 3\)"),
    ("{epochs: 2, epochs: 3}\n", "key 'epochs' given twice"),
    ("hidden: [[4, 0]]\nhidden: [[8, 0]]\n", "key 'hidden' given twice"),
])
def test_a_yaml_key_given_twice_is_refused(text, match):
    from synsem_ephys.train.config import TrainConfig

    with pytest.raises(ConfigError, match=match):
        TrainConfig.from_yaml(text)


def test_yaml_merge_keys_are_not_duplicates():
    from synsem_ephys.train.config import TrainConfig

    with pytest.raises(ConfigError, match="unknown key 'base'"):  # parsed: the merge itself is fine
        TrainConfig.from_yaml("base: &b {epochs: 2}\nother:\n  <<: *b\n  epochs: 3\n")


@pytest.mark.parametrize("content, match", [
    (b"", "got an empty file"), (b"# only a comment\n\n", "got an empty file"), (b"---\n", "got an empty file"),
    (b"epochs: 2\nlr: \xff\xfe\n", r"expected UTF-8 text; got the byte b'\\xff' at offset 14 \(line 2\)"),
    (b"\x80\x81", "expected UTF-8 text"), (b"epochs: [1\n", "expected valid YAML"), (b"- 1\n- 2\n", "expected a mapping"),
])
def test_bad_yaml_files_give_one_clear_error(tmp_path, content, match):
    from synsem_ephys.train.config import TrainConfig, load_config

    p = tmp_path / "c.yaml"
    p.write_bytes(content)
    with pytest.raises(ConfigError, match=match) as info:
        TrainConfig.from_yaml(p)
    assert str(p) in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ConfigError, match=match):
        load_config(p)


def test_cli_train_with_a_duplicate_key_exits_2_naming_config(tmp_path, capsys):
    p = tmp_path / "c.yaml"
    p.write_text("dataset: yinyang\nepochs: 1\nepochs: 2\n")
    assert main(["train", "--config", str(p), "--out", str(tmp_path / "run"), "--no-progress"]) == 2
    line = _one_error_line(capsys)
    assert line.startswith("synsem-ephys train: error: --config: ") and "given twice" in line
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------------------------ edge sizes
def test_train_size_1_is_a_clear_error_or_a_working_run(tmp_path):
    from synsem_ephys.train import train_from_config
    from synsem_ephys.train.config import TrainConfig

    cfg = TrainConfig(dataset="yinyang", train_size=1, test_size=4, hidden=((4, 0),), epochs=1)
    with pytest.raises(ConfigError, match=r"^config key 'train_size': expected at least 2 samples with val_fraction 0.1"):
        train_from_config(cfg, tmp_path / "a", progress=False)
    res = train_from_config(cfg.replace(val_fraction=0.0), tmp_path / "b", progress=False)  # nothing held out: runs
    assert len(res.history) == 1 and math.isfinite(res.history[0].train_loss)


def test_trainer_refuses_empty_data():
    from synsem_ephys.train import Trainer
    from synsem_ephys.train.config import TrainConfig
    from synsem_ephys.train.data import load_dataset

    cfg = TrainConfig(dataset="yinyang", train_size=10, test_size=4, hidden=((4, 0),), epochs=1, val_fraction=0.0)
    data = load_dataset("yinyang", "train", n_samples=10)
    with pytest.raises(ConfigError, match="^train_data: "):
        Trainer(cfg, progress=False, train_data=data.subset(np.arange(0)), test_data=data)
    with pytest.raises(ConfigError, match="^test_data: "):
        Trainer(cfg, progress=False, train_data=data, test_data=data.subset(np.arange(0)))


@pytest.mark.parametrize("select", [dict(units=[]), dict(trials=[]), dict(units=[], trials=[])],
                         ids=["0-units", "0-trials", "0-both"])
def test_records_without_units_or_trials_round_trip_through_nix(tmp_path, sim_record, select):
    from helpers import assert_records_equal

    from synsem_ephys.io import read_nix_record, write_nix

    rec = sim_record[0].select(**select)
    write_nix(rec, tmp_path / "r.nix")
    back = read_nix_record(tmp_path / "r.nix")
    assert (back.n_units, back.n_trials) == (rec.n_units, rec.n_trials)
    assert_records_equal(rec, back)


# ------------------------------------------------------------------------------------ the command line
@pytest.mark.parametrize("argv, flag", [
    (["simulate", "--trials", "-5"], "--trials"), (["simulate", "--trials", "0"], "--trials"),
    (["simulate", "--layers", "-1"], "--layers"), (["simulate", "--layers", "0"], "--layers"),
    (["simulate", "--trials", "many"], "--trials"), (["simulate", "--tau-syn-ms", "nan"], "--tau-syn-ms"),
    (["simulate", "--tau-mem-ms", "-1"], "--tau-mem-ms"), (["simulate", "--seed", "-1"], "--seed"),
    (["demo", "--n-trials", "0"], "--n-trials"), (["analyze", "x.nix", "--out", "o", "--min-spikes", "0"], "--min-spikes"),
])
def test_argparse_errors_are_one_line_naming_the_flag(argv, flag, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"argument {flag}: expected" in err[0], err


def _small_network(tmp_path):
    from helpers import small_spec

    from synsem_ephys.sim import Network

    Network(small_spec(), seed=0).save(tmp_path / "net.pt")
    return tmp_path / "net.pt"


def _flipped(path):
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x10
    path.write_bytes(raw)
    return path


@pytest.mark.parametrize("case", ["tau-ratio", "no-units", "demo-network-missing", "demo-network-corrupt",
                                  "demo-out-is-a-file", "analyze-missing", "analyze-not-a-recording", "analyze-active",
                                  "analyze-network-corrupt", "analyze-out-is-a-file", "train-config-missing",
                                  "train-out-is-a-file", "train-schedule-alone", "train-device", "train-no-resume",
                                  "train-resume-corrupt"])
def test_cli_input_errors_are_one_line_naming_the_flag_and_exit_2(case, tmp_path, capsys, sim_record):
    from synsem_ephys.io import write_nix

    afile = tmp_path / "a_file"
    afile.write_text("x")
    rec = tmp_path / "rec.nix"
    if case.startswith("analyze"):
        write_nix(sim_record[0], rec)
    run = tmp_path / "run"
    if case in ("train-no-resume", "train-resume-corrupt"):
        from synsem_ephys.train import train_from_config

        train_from_config(dict(dataset="yinyang", train_size=20, test_size=5, hidden=[[4, 0]], epochs=1), run,
                          progress=False)
        capsys.readouterr()
    argv, flag = {
        "tau-ratio": (["simulate", "--tau-syn-ms", "5", "--tau-mem-ms", "7"], "--tau-mem-ms / --tau-syn-ms"),
        "no-units": (["simulate", "--n-exc", "0", "--n-inh", "0"], "--n-exc/--n-inh"),
        "demo-network-missing": (["demo", "--network", str(tmp_path / "no.pt"), "--out", str(tmp_path / "o")], "--network"),
        "demo-network-corrupt": (["demo", "--network", str(_flipped(_small_network(tmp_path))), "--out",
                                  str(tmp_path / "o")], "--network"),
        "demo-out-is-a-file": (["demo", "--out", str(afile)], "--out"),
        "analyze-missing": (["analyze", str(tmp_path / "no.nix"), "--out", str(tmp_path / "o")], "recording"),
        "analyze-not-a-recording": (["analyze", str(afile), "--out", str(tmp_path / "o")], "recording"),
        "analyze-active": (["analyze", str(rec), "--out", str(tmp_path / "o"), "--active", "5", "2"], "--active"),
        "analyze-network-corrupt": (["analyze", str(rec), "--out", str(tmp_path / "o"), "--network",
                                     str(_flipped(_small_network(tmp_path)))], "--network"),
        "analyze-out-is-a-file": (["analyze", str(rec), "--out", str(afile)], "--out"),
        "train-config-missing": (["train", "--config", str(tmp_path / "no.yaml"), "--out", str(run)], "--config"),
        "train-out-is-a-file": (["train", "--config", "yinyang", "--out", str(afile)], "--out"),
        "train-schedule-alone": (["train", "--config", "yinyang", "--out", str(run), "--allow-schedule-change"],
                                 "--allow-schedule-change"),
        "train-device": (["train", "--config", "yinyang", "--out", str(tmp_path / "r2"), "--device", "tpu"], "--device"),
        "train-no-resume": (["train", "--config", str(run / "config.yaml"), "--out", str(run)], "--out"),
        "train-resume-corrupt": (["train", "--config", str(run / "config.yaml"), "--out", str(run), "--resume"], None),
    }[case]
    if case == "train-resume-corrupt":
        _flipped(run / "checkpoint.pt")
    assert main(argv + ["--no-progress"] * (argv[0] != "simulate")) == 2
    line = _one_error_line(capsys)
    assert line.startswith(f"synsem-ephys {argv[0]}: error: "), line
    if flag is not None:
        assert line.startswith(f"synsem-ephys {argv[0]}: error: {flag}: "), line
    else:
        assert "checksum mismatch: the file is corrupted" in line and str(run / "checkpoint.pt") in line
    assert "Traceback" not in line


def test_cli_debug_shows_the_traceback(capsys):
    with pytest.raises(SpecError):
        main(["simulate", "--tau-syn-ms", "5", "--tau-mem-ms", "7", "--debug"])
    with pytest.raises(SpecError):
        main(["--debug", "simulate", "--tau-syn-ms", "5", "--tau-mem-ms", "7"])


def test_cli_failures_that_are_not_the_input_exit_1(monkeypatch, capsys):
    import synsem_ephys.cli as cli

    def broken(args):
        raise RuntimeError("something inside broke\nover two lines")

    monkeypatch.setattr(cli, "cmd_simulate", broken)
    assert main(["simulate"]) == 1
    line = _one_error_line(capsys)
    assert line == ("synsem-ephys simulate: error: RuntimeError: something inside broke over two lines "
                    "(a failure, not the input's: rerun with --debug for the traceback)")

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_simulate", interrupted)
    assert main(["simulate"]) == 130
