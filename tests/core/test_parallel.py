"""Fan-out on executors: a process pool, Dask, MPI and Elephant's executors give the serial results, bit for bit."""

import concurrent.futures
import multiprocessing
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from synsem_ephys.parallel import make_executor, map_tasks, task_seeds


def _square(x):
    if x == 3:
        raise ValueError("three")
    return x * x


@pytest.fixture(scope="session")
def process_pool():
    ex = concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
    yield ex
    ex.shutdown()


@pytest.fixture(scope="session")
def dask_executor():
    pytest.importorskip("distributed", reason="dask[distributed] not installed (extra [dask])")
    ex = make_executor("dask", 2)
    yield ex
    ex.shutdown()


def _ig_record():
    from helpers import sim_record

    return sim_record(n_trials=60, seed=3)[0]


def test_map_tasks_orders_results_and_reports_failures(process_pool):
    assert map_tasks(_square, [1, 2, 4]) == [1, 4, 16]
    assert map_tasks(_square, [1, 2, 4], executor=process_pool) == [1, 4, 16]
    out = map_tasks(_square, [2, 3, 4], executor=process_pool, on_error="return")
    assert out[0] == 4 and isinstance(out[1], ValueError) and out[2] == 16
    with pytest.raises(ValueError, match="three"):
        map_tasks(_square, [3])
    with pytest.raises(ValueError, match="executor: expected None, a concurrent.futures.Executor"):
        map_tasks(_square, [1], executor=object())
    assert task_seeds(5, 3) == task_seeds(5, 3) and len(set(task_seeds(5, 3))) == 3


@pytest.mark.parametrize("which", ["process", "dask", "elephant"])
def test_information_gain_and_pathway_null_equal_the_serial_run(which, request):
    from synsem_ephys.analysis import information_gain, pathway_null
    from synsem_ephys.sim import Network

    if which == "elephant":
        ep = pytest.importorskip("elephant.parallel")
        ex = ep.ProcessPoolExecutor(max_workers=2)
    else:
        ex = request.getfixturevalue("process_pool" if which == "process" else "dask_executor")
    rec = _ig_record()
    a = information_gain(rec, n_shuffles=70, seed=1, min_active_trials=2)
    b = information_gain(rec, n_shuffles=70, seed=1, min_active_trials=2, executor=ex)
    assert np.array_equal(a.ig, b.ig, equal_nan=True) and np.array_equal(a.p_value, b.p_value, equal_nan=True)
    from helpers import small_spec

    ws, signs = Network(small_spec(), seed=2).weights_numpy()
    n1 = pathway_null(ws, signs, rec, spec=small_spec(), n_shuffles=4, active="any", quantile=0.5)
    n2 = pathway_null(ws, signs, rec, spec=small_spec(), n_shuffles=4, active="any", quantile=0.5, executor=ex)
    assert np.array_equal(n1.overlap_null, n2.overlap_null, equal_nan=True)
    assert np.array_equal(n1.selectivity_null, n2.selectivity_null, equal_nan=True)


def test_mpi_executor_equals_the_serial_run(tmp_path):
    pytest.importorskip("mpi4py", reason="mpi4py not installed (extra [mpi])")
    mpiexec = shutil.which("mpiexec") or shutil.which("mpiexec", path=os.path.dirname(sys.executable))
    if mpiexec is None:
        pytest.skip("no mpiexec on PATH (the PyPI package mpich ships one)")
    code = textwrap.dedent("""
        import numpy as np
        from mpi4py.futures import MPIPoolExecutor
        from helpers import sim_record
        from synsem_ephys.analysis import information_gain
        rec = sim_record(n_trials=60, seed=3)[0]
        a = information_gain(rec, n_shuffles=70, seed=1, min_active_trials=2)
        with MPIPoolExecutor() as ex:
            b = information_gain(rec, n_shuffles=70, seed=1, min_active_trials=2, executor=ex)
        print("EQUAL" if np.array_equal(a.ig, b.ig, equal_nan=True) else "DIFFERENT")
    """)
    script = tmp_path / "mpi_ig.py"
    script.write_text(code)
    tests_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([tests_dir, os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([mpiexec, "-n", "2", sys.executable, "-m", "mpi4py.futures", str(script)],
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "EQUAL" in out.stdout, out.stdout + out.stderr[-2000:]


def test_make_executor_refuses_unknown_names():
    with pytest.raises(ValueError, match=r"executor: expected one of \('serial', 'process', 'mpi', 'dask'\)"):
        make_executor("threads")
    with pytest.raises(ValueError, match="jobs: expected an int >= 1"):
        make_executor("process", 0)
    assert make_executor("serial") is None and make_executor("process", 1) is None


def test_idle_cores_is_cores_minus_the_load_at_least_one():
    from synsem_ephys.parallel import idle_cores

    assert idle_cores(load=0.0, cores=2) == 2 and idle_cores(load=0.6, cores=2) == 1
    assert idle_cores(load=1.4, cores=2) == 1 and idle_cores(load=7.9, cores=2) == 1
    assert idle_cores(load=3.2, cores=16) == 13 and 1 <= idle_cores() <= (__import__("os").cpu_count() or 1)
