"""The locust odour dataset (train/data/locust.py): features by hand on a tiny record, the registry, folds, the
missing-directory error; the real files are read only where the data directory exists (else skipped)."""

import numpy as np
import pytest

from synsem_ephys.errors import DataMissingError
from synsem_ephys.train.data import DATASET_NAMES, dataset_shape, load_dataset
from synsem_ephys.train.data.locust import (
    K_SPIKES,
    N_UNITS,
    ODOURS,
    ONSET_MS,
    WINDOW_MS,
    load_locust_odours,
    locust_dir,
    locust_features,
)


class _Rec:
    """The attributes of a SpikeRecord that locust_features reads."""

    def __init__(self, times, units, trials, n_trials, n_units):
        self.times_ms, self.unit_index, self.trial_index = np.array(times), np.array(units), np.array(trials)
        self.n_trials, self.n_units = n_trials, n_units


def test_features_by_hand():
    # trial 0: unit 1 spikes at +10, +20 (+ one before onset, one after the window, a later 4th ignored at k=3)
    t = [ONSET_MS - 5, ONSET_MS + 20, ONSET_MS + 10, ONSET_MS + WINDOW_MS + 1, ONSET_MS + 300, ONSET_MS + 400,
         ONSET_MS + 0.0]
    u = [1, 1, 1, 1, 1, 1, 0]
    tr = [0, 0, 0, 0, 0, 0, 1]
    x = locust_features(_Rec(t, u, tr, 2, 2), k=3)
    assert x.shape == (2, 6)
    np.testing.assert_allclose(x[0], [0, 0, 0, 1 - 10 / WINDOW_MS, 1 - 20 / WINDOW_MS, 1 - 300 / WINDOW_MS])
    np.testing.assert_allclose(x[1], [1.0, 0, 0, 0, 0, 0])


def test_registered():
    assert "locust" in DATASET_NAMES and dataset_shape("locust") == (N_UNITS * K_SPIKES, len(ODOURS))


def test_missing_directory_names_the_path_and_variable(tmp_path):
    with pytest.raises(DataMissingError, match="SYNSEM_DATA") as e:
        locust_dir(tmp_path / "nope")
    assert "nope" in str(e.value)
    with pytest.raises(DataMissingError):
        load_dataset("locust", "train", data_dir=str(tmp_path / "nope"))


@pytest.fixture(scope="module")
def real_dir():
    from helpers import ephys_dir

    d = ephys_dir() / "locust20010214"
    if not d.is_dir():
        pytest.skip(f"{d} absent")
    return d


def test_real_data_folds(real_dir):
    a = load_locust_odours("all", data_dir=real_dir)
    assert len(a) == 250 and a.n_features == 30 and a.n_classes == 10
    assert np.all((a.x >= 0) & (a.x <= 1)) and (a.x > 0).mean() > 0.5
    np.testing.assert_array_equal(a.class_counts(), [25, 25, 30, 10, 30, 30, 25, 25, 25, 25])
    tests = []
    for seed in range(5):
        tr = load_dataset("locust", "train", data_dir=str(real_dir), seed=seed)
        te = load_dataset("locust", "test", data_dir=str(real_dir), seed=seed)
        assert len(tr) + len(te) == 250 and tr.name == te.name == "locust"
        assert np.all(te.class_counts() >= 2)  # stratified
        tests.append(te.x)
        np.testing.assert_array_equal(_sorted_rows(np.concatenate([tr.x, te.x])), _sorted_rows(a.x))
    np.testing.assert_array_equal(_sorted_rows(np.concatenate(tests)), _sorted_rows(a.x))  # the folds partition


def _sorted_rows(x):
    return x[np.lexsort(x.T[::-1])]


def test_real_data_trains(real_dir, tmp_path):
    pytest.importorskip("torch")
    from synsem_ephys.train.config import TrainConfig
    from synsem_ephys.train.trainer import Trainer

    cfg = TrainConfig.from_dict(dict(dataset="locust", data_dir=str(real_dir), hidden=[[20, 0]], epochs=1,
                                     zero_never_spikes=True, t_early=0.0, t_late=6.0, val_fraction=0.1))
    m = Trainer(cfg, tmp_path, progress=False).fit()
    assert 0.0 <= m.test_accuracy <= 1.0 and len(m.history) == 1
