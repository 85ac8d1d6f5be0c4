"""Optional dependencies: a missing one is an ImportError naming the extra; the table matches pyproject.toml."""

import pathlib
import sys
import tomllib

import pytest

from synsem_ephys.optional import EXTRAS, require

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_every_extra_of_the_table_is_declared_in_pyproject_and_all_holds_them():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for module, (extra, package) in EXTRAS.items():
        assert any(req.startswith(package) for req in extras[extra]), (module, extra)
    named = {e for e, _ in EXTRAS.values()}
    in_all = set(extras["all"][0].split("[", 1)[1].rstrip("]").split(","))
    assert named <= set(extras) and named - in_all == {"brian2"}  # brian2 is left out of [all] (optional.py says why)


@pytest.mark.parametrize("module, call, extra", [
    ("pynwb", lambda tmp: __import__("synsem_ephys.io", fromlist=["x"]).read_nwb(tmp / "x.nwb"), "nwb"),
    ("nixio", lambda tmp: __import__("synsem_ephys.io", fromlist=["x"]).read_nix(tmp / "x.nix"), "nix"),
    ("yaml", lambda tmp: __import__("synsem_ephys.train.config", fromlist=["x"]).TrainConfig().to_yaml(), "train"),
])
def test_a_missing_optional_dependency_names_its_extra(monkeypatch, tmp_path, module, call, extra):
    (tmp_path / "x.nwb").write_bytes(b"")
    (tmp_path / "x.nix").write_bytes(b"")
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
    with pytest.raises(ImportError, match=rf"{module}: required .*synsem-ephys\[{extra}\]"):
        call(tmp_path)


def test_require_of_an_unknown_module_names_the_package():
    with pytest.raises(ImportError, match="pip install no_such_module_xyz"):
        require("no_such_module_xyz")
