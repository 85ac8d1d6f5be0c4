"""The import directions of the package, checked from the code (AST), and the torch-free layers, checked by import.

Layers (an arrow = "may be imported by")::

    errors, optional, units, _files       <- everything
    parallel (executors)                  <- train, analysis, report, adapters
    spec, decision, record, encoding      <- sim (torch) <- train (torch)
    io                                    <- analysis <- report <- demo, cli
    graph (weights only)                  <- analysis.pathways, report
    io, record                            <- adapters <- demo, cli, tests

- torch is imported only by ``sim`` and ``train`` (and by the adapters that build networks, listed in
  :data:`TORCH_ADAPTERS`);
- ``io``, ``analysis``, ``graph`` and ``report`` never import ``adapters``, ``demo`` or ``cli``;
- ``graph`` never imports ``analysis``; nothing imports ``demo`` or ``cli`` but ``cli`` itself;
- no module imports a ``_private`` module of another package (a package's own ``_common`` is for its
  modules; ``_files`` is shared on purpose).

This test replaces the ad hoc "imports without torch" checks that lived in single test files.
"""

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PKG = ROOT / "synsem_ephys"
ADAPTERS = ROOT / "adapters"

#: Adapters that return a torch Network (so import torch): their loaders of recordings still work on dumps.
TORCH_ADAPTERS = {"fastanddeep", "nir"}

#: layer of a module -> layers it may import (besides the standard library and third-party packages).
ALLOWED = {
    "errors": set(),
    "optional": set(),
    "parallel": {"errors", "optional"},
    "units": {"errors"},
    "_files": {"errors", "_files"},
    "spec": {"errors"},
    "decision": {"errors"},
    "record": {"errors", "spec", "decision"},
    "encoding": {"errors"},
    "perturb": {"errors", "encoding", "decision", "optional"},
    "sim": {"optional", "errors", "units", "_files", "spec", "decision", "record", "encoding", "sim", "version"},
    "train": {"optional", "parallel", "errors", "units", "_files", "spec", "decision", "record", "encoding", "perturb", "sim", "train", "version"},
    "io": {"optional", "errors", "units", "_files", "spec", "record", "io", "version"},
    "analysis": {"optional", "parallel", "errors", "units", "_files", "spec", "record", "decision", "io", "graph", "analysis"},
    "graph": {"optional", "errors", "units", "_files", "spec", "graph"},
    "report": {"optional", "parallel", "errors", "units", "_files", "spec", "record", "decision", "perturb", "io", "analysis", "graph", "report"},
    "adapters": {"optional", "parallel", "errors", "units", "_files", "spec", "decision", "record", "io", "adapters", "sim", "train", "version"},
    "demo": {"*"},
    "cli": {"*"},
    "neo_io": {"io"},      # deprecated aliases
    "export": {"io"},
    "version": set(),
    "__init__": set(),      # the top-level package imports its sub-packages lazily only
}
TORCH_LAYERS = {"sim", "train", "demo", "cli"}
#: Modules that take numpy or torch and import torch inside a function, only when given a tensor.
TORCH_OPTIONAL = {"decision", "encoding", "parallel", "perturb"}


def _modules():
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).with_suffix("")
        yield path, ("synsem_ephys",) + rel.parts
    for path in sorted(ADAPTERS.rglob("*.py")):
        rel = path.relative_to(ADAPTERS).with_suffix("")
        yield path, ("synsem_ephys", "adapters") + rel.parts


def _layer(parts):
    """Layer of a module path (``("synsem_ephys", "io", "nwb")`` -> "io")."""
    if len(parts) == 1:
        return "version"  # synsem_ephys itself (``from .. import __version__``)
    head = parts[1]
    if head == "__init__":
        return "__init__"
    return head


def _imports(path, parts):
    """(imported module path as a tuple, line, inside a function) for every import of the package or torch."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    out = []

    def visit(node, in_func):
        for child in ast.iter_child_nodes(node):
            f = in_func or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                for a in child.names:
                    out.append((tuple(a.name.split(".")), child.lineno, f))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package[: len(package) - child.level + 1]
                    mod = base + (tuple(child.module.split(".")) if child.module else ())
                else:
                    mod = tuple((child.module or "").split("."))
                for a in child.names:
                    out.append((mod + (a.name,), child.lineno, f))
            visit(child, f)

    visit(tree, False)
    return out


def _target_layer(mod):
    if mod[0] != "synsem_ephys":
        return None
    if len(mod) < 2 or mod[1] == "__version__":
        return "version"
    return _layer(mod[:2])


#: The named exceptions to the layer table: (file, imported module) -> why. Each must be imported inside a function
#: (never at import time, so the layers still load bottom-up).
EXCEPTIONS = {
    ("synsem_ephys/train/data/locust.py", "synsem_ephys.adapters.spiketimes_text"):
        "the locust odour task is built from the real recording, read with the locust convention of its adapter",
}


def test_import_directions_follow_the_layer_table():
    bad = []
    for path, parts in _modules():
        layer = _layer(parts)
        allowed = ALLOWED[layer]
        for mod, line, in_func in _imports(path, parts):
            target = _target_layer(mod)
            if target is None or "*" in allowed or target == layer:
                continue
            rel = path.relative_to(ROOT).as_posix()
            if in_func and any(rel == f and ".".join(mod).startswith(m) for f, m in EXCEPTIONS):
                continue
            if target not in allowed:
                bad.append(f"{path.relative_to(ROOT)}:{line} ({layer}) imports {'.'.join(mod)} ({target})")
    assert not bad, "imports against the layer table:\n" + "\n".join(bad)


def test_torch_only_in_sim_and_train():
    """No torch import outside the torch layers; torch-optional modules may import it inside a function only."""
    bad = []
    for path, parts in _modules():
        layer = _layer(parts)
        if layer in TORCH_LAYERS or (layer == "adapters" and parts[-1] in TORCH_ADAPTERS):
            continue
        for mod, line, in_func in _imports(path, parts):
            torchy = mod[0] == "torch" or _target_layer(mod) in ("sim", "train")
            if torchy and not (in_func and layer in TORCH_OPTIONAL):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {'.'.join(mod)}")
    assert not bad, "torch outside sim/train:\n" + "\n".join(bad)


def test_no_private_module_of_another_package_is_imported():
    bad = []
    for path, parts in _modules():
        package = parts[:-1]
        for mod, line, _ in _imports(path, parts):
            if mod[0] != "synsem_ephys":
                continue
            for k, name in enumerate(mod[1:-1], start=1):
                # a _private module is for its own package (and the packages inside it); _files is shared
                shared = name in ("_files",) or package[:k] == mod[:k]
                if name.startswith("_") and not name.startswith("__") and not shared:
                    bad.append(f"{path.relative_to(ROOT)}:{line} imports {'.'.join(mod)}")
    assert not bad, "\n".join(bad)


def test_nothing_imports_the_applications():
    bad = [f"{path.relative_to(ROOT)}:{line}" for path, parts in _modules() if _layer(parts) not in ("cli", "demo")
           for mod, line, _ in _imports(path, parts) if _target_layer(mod) in ("cli", "demo")]
    assert not bad, bad


def test_the_table_knows_every_layer():
    layers = {_layer(parts) for _, parts in _modules()}
    assert layers <= set(ALLOWED), sorted(layers - set(ALLOWED))


@pytest.mark.parametrize("modules", [
    "synsem_ephys, synsem_ephys.io, synsem_ephys.analysis, synsem_ephys.graph, synsem_ephys.report",
    "synsem_ephys.record, synsem_ephys.spec, synsem_ephys.encoding, synsem_ephys.decision, synsem_ephys.units",
    "synsem_ephys.adapters, synsem_ephys.adapters.nwb, synsem_ephys.adapters.spiketimes_text, "
    "synsem_ephys.adapters.matlab_trials, synsem_ephys.adapters.neo_generic",
])
def test_torch_free_layers_import_with_torch_blocked(modules):
    """Behind a meta-path finder that refuses torch, the torch-free layers import, and Elephant stays unimported."""
    code = (
        "import sys, importlib\n"
        "class NoTorch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'):\n"
        "            raise ImportError('torch is blocked in this test')\n"
        "sys.meta_path.insert(0, NoTorch())\n"
        f"for m in '{modules}'.split(', '):\n"
        "    importlib.import_module(m)\n"
        "import synsem_ephys.analysis as a\n"
        "[getattr(a, n) for n in a.__all__]\n"
        "print('elephant' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["False"], out.stdout + out.stderr
