"""The tutorial notebooks (tutorials/*.ipynb) run top to bottom in fast mode; an error in any cell fails.

Each notebook is executed with nbclient in a fresh kernel of *this* interpreter (a kernel spec written to a
temporary JUPYTER_PATH, so a user-level "python3" kernel of another environment cannot be picked up), with
``SYNSEM_TUTORIAL_FAST=1`` and ``SYNSEM_TUTORIAL_OUT`` set to a temporary folder shared by the notebooks (tutorial 2
saves the trained network there for tutorials 3-5; tutorial 6 uses the shipped digits network). Real data come from ``SYNSEM_DATA`` as everywhere else; the
notebooks are skipped only when that directory is entirely absent.
"""

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from synsem_ephys.adapters import data_dir  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "tutorials").glob("*.ipynb"))
KERNEL = "synsem-tutorials"
CELL_TIMEOUT_S = 300


def test_the_tutorials_are_there():
    """01-06, then 07 (delays) and 08 (SSDP) each present or not (written separately), one notebook per number."""
    nums = [int(p.stem[:2]) for p in NOTEBOOKS]
    assert nums[:6] == [1, 2, 3, 4, 5, 6] and nums == sorted(set(nums)) and set(nums) <= set(range(1, 9)), \
        [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{path.name}: no code cells"
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{path.name}: cells {dirty} hold outputs or execution counts; clear them before committing"
    assert "SYNSEM_TUTORIAL_FAST" in code[0].source, f"{path.name}: the first code cell must read SYNSEM_TUTORIAL_FAST"


@pytest.fixture(scope="module")
def tutorial_env(tmp_path_factory):
    if not data_dir(must_exist=False).exists():
        pytest.skip(f"real data directory {data_dir(must_exist=False)} is absent (set SYNSEM_DATA)")
    from ipykernel.kernelspec import write_kernel_spec

    jupyter = tmp_path_factory.mktemp("jupyter")
    write_kernel_spec(jupyter / "kernels" / KERNEL)        # argv: this interpreter -m ipykernel_launcher
    out = tmp_path_factory.mktemp("tutorial_out")
    new = {"JUPYTER_PATH": os.pathsep.join(filter(None, [str(jupyter), os.environ.get("JUPYTER_PATH")])),
           "SYNSEM_TUTORIAL_FAST": "1", "SYNSEM_TUTORIAL_OUT": str(out), "MPLBACKEND": "Agg"}
    old = {k: os.environ.get(k) for k in new}
    os.environ.update(new)
    try:
        yield out
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_fast_mode(path, tutorial_env):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=CELL_TIMEOUT_S,
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()                                       # raises CellExecutionError on any failing cell
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert any(o.output_type == "stream" for c in nb.cells if c.cell_type == "code" for o in c.outputs), \
        f"{path.name}: printed nothing"
