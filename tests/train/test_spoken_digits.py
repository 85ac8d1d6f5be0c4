"""T2, synthetic spoken digits: the bundled file, its split and checksum, the feature extraction, one training step."""

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from synsem_ephys.errors import DataFormatError, DataMissingError
from synsem_ephys.train.data import dataset_shape, load_dataset
from synsem_ephys.train.data import spoken_digits as sd

ROOT = Path(__file__).resolve().parents[2]


def test_file_loads_with_its_shapes_and_balanced_classes():
    d = sd.load_spoken_digits("all")
    a = sd.spoken_digits_arrays()
    n = len(a["voices"]) * 20 * int(a["rep"].max() + 1)
    assert d.x.shape == (n, 128) and d.x.dtype == np.float64 and dataset_shape("spoken_digits") == (128, 20)
    assert a["times_ms"].dtype == np.float32 and d.n_classes == 20 and len(d.class_names) == 20
    assert np.all(d.class_counts() == n // 20)
    assert d.class_names[0] == "en:zero" and d.class_names[10] == "de:null"
    assert sd.SPOKEN_DIGITS_FILE.stat().st_size < 2_000_000


def test_every_unit_fires_exactly_once_per_sample():
    from synsem_ephys.encoding import LatencyCode

    d = sd.load_spoken_digits("all")
    t = LatencyCode(5.0, 0.0, 20.0, False).encode(d.x)       # the bundled config's code
    assert t.shape == (len(d), 128) and np.all(np.isfinite(t))
    assert t.min() >= 0.0 and t.max() <= 100.0
    np.testing.assert_allclose(t, sd.spoken_digits_arrays()["times_ms"], atol=1e-4)
    # per band: -12 dB rise <= -6 dB rise <= peak <= offset
    b = t.reshape(len(d), 32, 4)
    assert np.all(np.diff(b, axis=2) >= -1e-9)


def test_split_is_speaker_disjoint_and_deterministic_per_seed():
    voices = [str(v) for v in sd.spoken_digits_arrays()["voices"]]
    tr0, te0 = sd.spoken_digits_voices(0)
    assert len(te0) == sd.N_TEST_VOICES and not set(tr0) & set(te0) and sorted(tr0 + te0) == sorted(voices)
    assert sd.spoken_digits_voices(0) == (tr0, te0)
    assert sd.spoken_digits_voices(1)[1] != te0
    a = sd.spoken_digits_arrays()
    for seed in (0, 1):
        train, test = (load_dataset("spoken_digits", s, seed=seed) for s in ("train", "test"))
        assert len(train) + len(test) == len(a["label"]) and len(test) == sd.N_TEST_VOICES * 20 * 3
        again = load_dataset("spoken_digits", "test", seed=seed)
        np.testing.assert_array_equal(again.x, test.x)
        # the test samples are exactly those of the test voices
        is_test = np.isin(np.asarray(voices)[a["voice"]], sd.spoken_digits_voices(seed)[1])
        np.testing.assert_array_equal(test.x, 1.0 - a["times_ms"][is_test].astype(np.float64) / 100.0)
        assert np.all(test.class_counts() == sd.N_TEST_VOICES * 3)


def test_manifest_checksums_match_the_file():
    from synsem_ephys._files import payload_sha256

    man = json.loads(sd.SPOKEN_DIGITS_MANIFEST.read_text())
    assert man["sha256"] == sd.SPOKEN_DIGITS_SHA256 == sd.file_sha256(sd.SPOKEN_DIGITS_FILE)
    assert man["n_samples"] == len(sd.spoken_digits_arrays()["label"]) and man["voices"] == list(
        sd.spoken_digits_arrays()["voices"])
    assert "espeak-ng" in man["synthesis"]["version"] and man["seed"] and man["features"]["n_bands"] == 32
    a = sd.spoken_digits_arrays()
    for k, h in man["array_payload_sha256"].items():
        assert payload_sha256(a[k]) == h, k


def test_missing_or_corrupt_file_is_named(tmp_path):
    missing = tmp_path / "nothere.npz"
    with pytest.raises(DataMissingError, match="nothere.npz"):
        sd.spoken_digits_arrays(path=missing)
    bad = tmp_path / "spoken_digits.npz"
    raw = bytearray(sd.SPOKEN_DIGITS_FILE.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    bad.write_bytes(bytes(raw))
    with pytest.raises(DataFormatError, match=str(bad)):
        sd.spoken_digits_arrays(path=bad)
    with pytest.raises(DataMissingError, match="manifest"):
        sd.spoken_digits_arrays(manifest=tmp_path / "no_manifest.json")
    with pytest.raises(ValueError, match="split"):
        sd.load_spoken_digits("val")


def _gaussian_tone(sr, f_hz, t0_s, s_s, length_s):
    t = np.arange(int(length_s * sr)) / sr
    return np.exp(-((t - t0_s) ** 2) / (2 * s_s ** 2)) * np.sin(2 * np.pi * f_hz * t)


def test_feature_extraction_of_a_gaussian_tone_burst():
    """Amplitude exp(-(t - t0)^2 / 2 s^2): log power -(t - t0)^2 / s^2, so a level L below the maximum (natural-log
    units) is reached at t0 -+ s sqrt(L); onset at L = 8; window 0.8 s -> 100 ms."""
    sr, f, t0, s = 22050, 1000.0, 0.4, 0.05
    times, onset = sd.utterance_times(_gaussian_tone(sr, f, t0, s, 1.2), sr)
    lvl = np.array([12.0, 6.0]) * np.log(10) / 10
    assert onset == pytest.approx(t0 - s * np.sqrt(8), abs=1.5e-3)
    band = int(np.searchsorted(sd.band_edges(), f) - 1)
    want_s = np.array([t0 - s * np.sqrt(lvl[0]), t0 - s * np.sqrt(lvl[1]), t0, t0 + s * np.sqrt(lvl[1])])
    want_ms = (want_s - (t0 - s * np.sqrt(8))) * 100.0 / 0.8
    np.testing.assert_allclose(times[4 * band: 4 * band + 4], want_ms, atol=0.3)
    assert times.shape == (128,) and np.all((times >= 0) & (times <= 100))


def test_two_bursts_in_two_bands_and_window_clipping():
    sr = 22050
    edges = sd.band_edges()
    lo, hi = 5, 25
    f_lo, f_hi = np.sqrt(edges[lo] * edges[lo + 1]), np.sqrt(edges[hi] * edges[hi + 1])
    x = _gaussian_tone(sr, f_lo, 0.3, 0.03, 2.0) + _gaussian_tone(sr, f_hi, 0.5, 0.03, 2.0)
    times, _ = sd.utterance_times(x, sr)
    b = times.reshape(32, 4)
    assert b[hi, 2] - b[lo, 2] == pytest.approx(0.2 * 125.0, abs=0.5)   # the peaks 200 ms apart -> 25 ms
    # a tone held far past the window: its offset is clipped to the window's end
    t = np.arange(int(1.5 * sr)) / sr
    held = np.sin(2 * np.pi * 1000.0 * t) * np.minimum(1.0, t / 0.02)
    times, _ = sd.utterance_times(held, sr)
    band = int(np.searchsorted(edges, 1000.0) - 1)
    assert times[4 * band + 3] == pytest.approx(100.0, abs=0.26)   # the last frame in the window (hop 2 ms)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="signal"):
        sd.log_filterbank(np.zeros((3, 3)), 22050)
    with pytest.raises(ValueError, match="f_hi_hz"):
        sd.log_filterbank(np.zeros(4000), 8000)
    with pytest.raises(ValueError, match="log_power"):
        sd.band_events(np.arange(10) * 0.002, np.zeros((9, 32)))
    with pytest.raises(ValueError, match="seed"):
        sd.spoken_digits_voices("0")


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (needed to synthesise)")
def test_generator_reproduces_a_bundled_sample(tmp_path):
    spec = importlib.util.spec_from_file_location("make_spoken_digits", ROOT / "bench" / "make_spoken_digits.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    a = sd.spoken_digits_arrays()
    v, c, r = 3, 12, 1
    i = int(np.flatnonzero((a["voice"] == v) & (a["label"] == c) & (a["rep"] == r))[0])
    rng = np.random.default_rng(np.random.SeedSequence([gen.SEED, v, c, r]))
    speed, pitch = round(rng.uniform(*gen.SPEED_WPM)), round(rng.uniform(*gen.PITCH))
    assert (speed, pitch) == (a["speed_wpm"][i], a["pitch"][i])
    lang, word = [(lg, w) for lg in sd.WORDS for w in sd.WORDS[lg]][c]
    srate, x = gen.synthesise(shutil.which("espeak-ng"), lang, gen.VOICES[v], word, speed, pitch, tmp_path)
    x = x + rng.normal(0.0, np.sqrt(np.mean(x ** 2)) * 10 ** (-gen.NOISE_DB / 20), x.size)
    times, _ = sd.utterance_times(x, srate)
    np.testing.assert_allclose(times.astype(np.float32), a["times_ms"][i], atol=1e-3)


def test_one_short_training_step(tmp_path):
    from synsem_ephys.train.config import TrainConfig, load_config
    from synsem_ephys.train.trainer import Trainer

    train, test = (load_dataset("spoken_digits", s, seed=0) for s in ("train", "test"))
    d = load_config("spoken_digits").to_dict()
    assert d["dataset"] == "spoken_digits" and d["hidden"] in ([[96, 32]], ((96, 32),))
    d.update(epochs=1, delay_kind="synaptic", delay_max_ms=100.0, delay_init="uniform", val_fraction=0.2)
    tr = Trainer(TrainConfig.from_dict(d), tmp_path, progress=False, train_data=train.subset(slice(0, 60)),
                 test_data=test.subset(slice(0, 40)))
    before = [w.detach().clone() for w in tr.network.weights]
    res = tr.fit()
    assert len(res.history) == 1 and 0.0 <= res.test_accuracy <= 1.0
    assert any(not np.array_equal(b.numpy(), w.detach().numpy()) for b, w in zip(before, res.network.weights))
    assert res.network.dale_violations() == 0
