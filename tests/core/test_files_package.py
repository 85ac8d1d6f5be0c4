"""synsem_ephys._files after its split into atomic / isolated / content: the names stay importable from the
package, and the default data root is still the checkout's neighbour ../shared/data."""

from pathlib import Path

import synsem_ephys._files as files


def test_every_name_is_importable_from_the_package():
    from synsem_ephys._files import atomic, content, isolated

    for name in files.__all__:
        assert hasattr(files, name), name
    assert files.write_path_atomic is atomic.write_path_atomic and files.call_isolated is isolated.call_isolated
    assert files.data_root is content.data_root


def test_default_data_root_is_the_checkouts_neighbour(monkeypatch):
    monkeypatch.delenv("SYNSEM_DATA", raising=False)
    repo = Path(__file__).resolve().parents[2]
    assert files.data_root(use_env=False) == repo.parent / "shared" / "data"
    assert files.data_root() == repo.parent / "shared" / "data"
