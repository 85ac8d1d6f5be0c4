"""Fixtures of the fault tests: small file systems (a full disk, a read-only one), subprocess runs, the marker.

``slow_faults`` marks the long runs (the large fuzz run, the full-disk runs of whole commands). They are
skipped unless selected: ``pytest -m slow_faults tests/faults`` (or any ``-m`` expression naming the marker).
Small file systems are tmpfs mounts, which need root (CAP_SYS_ADMIN): elsewhere those tests skip, saying so.
"""

import os
import shutil
import subprocess
import sys
import uuid

import pytest

MARKER = "slow_faults"


def pytest_configure(config):
    config.addinivalue_line("markers", f"{MARKER}: long fault-injection runs (large fuzz, full-disk commands); "
                                       f"run with -m {MARKER}")


def pytest_collection_modifyitems(config, items):
    if MARKER in (config.getoption("markexpr", "") or ""):
        return
    skip = pytest.mark.skip(reason=f"slow fault test: select it with -m {MARKER}")
    for item in items:
        if MARKER in item.keywords:
            item.add_marker(skip)


def _mount(directory, options):
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a small file system needs root to mount a tmpfs (mount -t tmpfs); not root here")
    directory.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(directory)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip() or r.returncode})")


def _unmount(directory):
    r = subprocess.run(["umount", str(directory)], capture_output=True, text=True)
    if r.returncode != 0:
        subprocess.run(["umount", "-l", str(directory)], capture_output=True, text=True)


@pytest.fixture
def small_fs(tmp_path):
    """``small_fs(size)``: a new empty tmpfs of ``size`` (``"256k"``) mounted under tmp_path; unmounted after."""
    mounted = []

    def make(size="256k"):
        d = tmp_path / f"fs-{uuid.uuid4().hex[:8]}"
        _mount(d, f"size={size},mode=0777")
        mounted.append(d)
        return d

    yield make
    for d in mounted:
        _unmount(d)


@pytest.fixture
def read_only_fs(tmp_path):
    """An empty read-only tmpfs (writes fail with EROFS even for root)."""
    d = tmp_path / "ro"
    _mount(d, "size=1m,ro")
    yield d
    _unmount(d)


def run_python(code, *args, cwd=None, timeout=300, user=None):
    """Run ``python -c code args`` with this interpreter (one thread); ``user``: a uid to run as (needs setpriv)."""
    cmd = [sys.executable, "-c", code, *map(str, args)]
    if user is not None:
        if shutil.which("setpriv") is None:
            pytest.skip("running as another user needs setpriv")
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    tests_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [tests_dir, env.get("PYTHONPATH")]))
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env)


@pytest.fixture
def python():
    """:func:`run_python`."""
    return run_python
