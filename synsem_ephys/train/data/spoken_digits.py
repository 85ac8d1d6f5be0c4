"""T2, SynHD-TTFS: synthetic spoken digits (English and German) as one spike per input unit.

The data are bundled (``synsem_ephys/data/spoken_digits.npz``, float32, with its manifest
``spoken_digits_manifest.json``); loading needs neither espeak-ng nor a download. They were made by
``bench/make_spoken_digits.py`` (which needs ``espeak-ng`` only to regenerate them), using the feature
extraction of this module (:func:`log_filterbank`, :func:`band_events`):

- **Speech.** 20 classes: English (``en-us``) "zero" .. "nine" (classes 0-9) and German (``de``) "null" ..
  "neun" (10-19), like the 20 classes of the Heidelberg Digits. A *speaker* is an espeak-ng voice variant
  (``+m1``, ``+f3``, ``+klatt2``, named variants ...), speaking both languages. Per utterance the speed is
  U(130, 210) words per minute and the pitch U(25, 75), with white noise 30 dB below the utterance's RMS.
- **Filterbank.** STFT with a 16 ms Hann window (hop 2 ms); 32 bands log-spaced from 100 Hz to 7 kHz; the
  natural log of each band's power.
- **Onset.** The first frame whose total log power is within 8 (natural-log units) of its maximum.
- **Events.** In the window ``[onset, onset + 0.8 s]``, per band four units that each fire exactly once: the
  first rising crossing of -12 dB and of -6 dB below the band's own maximum in the window, the time of that
  maximum, and the offset (the last time above -6 dB); crossings are interpolated linearly between frames.
  The window maps to [0, 100] ms. Unit ``4 * band + k`` is event ``k`` (:data:`EVENTS`) of ``band`` (low to
  high frequency), so there are 128 inputs.

Features: ``x = 1 - t / 100 ms`` in [0, 1], so with ``tau_syn_ms`` 5, ``t_early`` 0 and ``t_late`` 20 the
latency code gives back the event times (the bundled config ``spoken_digits``). No feature is "no spike":
keep ``zero_never_spikes`` false.

**Split (speaker-disjoint, like SHD's held-out speakers).** The voice variants are permuted with ``seed``
(the trainer's ``data_seed``); the first :data:`N_TEST_VOICES` form the test split, the others the training
split (the trainer's ``val_fraction`` 0.1 then holds out 10 % of the training *samples*, i.e. validation comes
from the training voices). :func:`spoken_digits_voices` names the voices of each side.

**What it measures.** All 128 units fire exactly once in every sample, so *which* units fire carries nothing
(a classifier on the binary "fired" code is at chance, 1/20); the class is carried by the *timing* of the
events alone, spread over 0-100 ms = 20 tau_syn, so a network must combine events many tau_syn apart
(delays, or slow integration) and generalise across speakers it never heard. Measured baselines
(``bench/spoken_digits_baselines.py``, standardised features, splits 0-2): logistic regression on the times
96.8 +- 1.7 %, 1-NN 95.6 +- 0.7 %, the same on "which units fire" 5.0 % (chance), logistic regression on one event
kind alone (32 units) 82-87 %. The speakers are synthetic variants of one synthesiser, so the task is easier for a
linear readout than real speech (SHD); it is a test of timing codes, not of speech recognition.

:func:`load_spoken_digits` checks the file's SHA-256 against :data:`SPOKEN_DIGITS_SHA256` (and the
manifest's) and raises :class:`~synsem_ephys.errors.DataMissingError` / ``DataFormatError`` naming the file.
"""

import hashlib
import io
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from ...errors import DataFormatError, DataMissingError, input_error
from .base import LabelledData

__all__ = ["CLASS_NAMES", "EVENTS", "FEATURE_PARAMS", "N_BANDS", "N_TEST_VOICES", "SPAN_MS", "SPOKEN_DIGITS_FILE",
           "SPOKEN_DIGITS_MANIFEST", "SPOKEN_DIGITS_SHA256", "WINDOW_S", "WORDS", "band_edges", "band_events",
           "file_sha256", "load_spoken_digits", "log_filterbank", "spoken_digits_arrays", "spoken_digits_voices",
           "utterance_times"]

_DATA = Path(__file__).resolve().parents[2] / "data"
#: The bundled spike times and their manifest.
SPOKEN_DIGITS_FILE = _DATA / "spoken_digits.npz"
SPOKEN_DIGITS_MANIFEST = _DATA / "spoken_digits_manifest.json"
#: SHA-256 of the bundled ``spoken_digits.npz`` (printed by bench/make_spoken_digits.py; also in the manifest).
SPOKEN_DIGITS_SHA256 = "85f111668b21305408558c59b3356aebe0276c98ed16761e20d366305af5641f"

#: The 20 classes: (language, word).
WORDS = {"en-us": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
         "de": ("null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun")}
CLASS_NAMES = tuple(f"{lang.split('-')[0]}:{w}" for lang, ws in WORDS.items() for w in ws)
#: The four events per band, in unit order.
EVENTS = ("rise_-12dB", "rise_-6dB", "peak", "offset_-6dB")
N_BANDS = 32
#: Voice variants held out for the test split.
N_TEST_VOICES = 8
#: The analysis window after the onset (s) and the span it maps to (ms).
WINDOW_S = 0.8
SPAN_MS = 100.0
#: The feature extraction's parameters (recorded in the manifest).
FEATURE_PARAMS = {"window_ms": 16.0, "hop_ms": 2.0, "n_bands": N_BANDS, "f_lo_hz": 100.0, "f_hi_hz": 7000.0,
                  "onset_below_log": 8.0, "levels_db": (12.0, 6.0), "window_s": WINDOW_S, "span_ms": SPAN_MS}
_DB = 10.0 / np.log(10.0)  # dB per natural-log unit of power


def band_edges(n_bands=N_BANDS, f_lo_hz=100.0, f_hi_hz=7000.0):
    """The ``n_bands + 1`` log-spaced band edges (Hz) from ``f_lo_hz`` to ``f_hi_hz``."""
    if isinstance(n_bands, bool) or not isinstance(n_bands, (int, np.integer)) or n_bands < 1:
        raise input_error("n_bands", "a positive int", repr(n_bands))
    if not 0 < f_lo_hz < f_hi_hz:
        raise input_error("f_lo_hz, f_hi_hz", "0 < f_lo_hz < f_hi_hz", (f_lo_hz, f_hi_hz))
    return np.geomspace(float(f_lo_hz), float(f_hi_hz), int(n_bands) + 1)


def log_filterbank(signal, sample_rate, *, window_ms=16.0, hop_ms=2.0, n_bands=N_BANDS, f_lo_hz=100.0,
                   f_hi_hz=7000.0, **_unused):
    """Log band power of a mono signal: Hann-windowed STFT, power summed over log-spaced bands.

    Returns ``(frame_times_s, log_power)``: the frames' centre times (s), shape ``(n_frames,)``, and the natural
    log of the band powers, shape ``(n_frames, n_bands)`` (floored at 1e-12 of the largest band power, so
    silence gives a finite value). The FFT is zero-padded so that every band holds at least one bin.
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1:
        raise input_error("signal", "a 1-d array (mono samples)", f"shape {x.shape}")
    sr = float(sample_rate)
    if not sr > 0:
        raise input_error("sample_rate", "a positive rate in Hz", sample_rate)
    edges = band_edges(n_bands, f_lo_hz, f_hi_hz)
    if edges[-1] >= sr / 2:
        raise input_error("f_hi_hz", f"below the Nyquist frequency {sr / 2:g} Hz", f_hi_hz)
    win = max(2, round(window_ms * 1e-3 * sr))
    hop = max(1, round(hop_ms * 1e-3 * sr))
    if x.size < win:
        x = np.pad(x, (0, win - x.size))
    min_width = float(np.min(np.diff(edges)))
    nfft = 1 << int(np.ceil(np.log2(max(win, 2.0 * sr / min_width))))
    frames = np.lib.stride_tricks.sliding_window_view(x, win)[::hop]
    spec = np.fft.rfft(frames * np.hanning(win), n=nfft, axis=1)
    power = spec.real ** 2 + spec.imag ** 2
    freqs = np.fft.rfftfreq(nfft, 1.0 / sr)
    band = np.searchsorted(edges, freqs, side="right") - 1
    inside = (band >= 0) & (band < n_bands)
    bp = np.zeros((power.shape[0], n_bands))
    np.add.at(bp.T, band[inside], power[:, inside].T)
    peak = bp.max() if bp.size and bp.max() > 0 else 1.0
    times = (np.arange(frames.shape[0]) * hop + 0.5 * win) / sr
    return times, np.log(bp + 1e-12 * peak)


def _rise(v, thr, t, dt):
    """First time ``v`` reaches ``thr`` (linear interpolation from the frame before)."""
    k = int(np.argmax(v >= thr))
    if k == 0:
        return t[0]
    return t[k - 1] + dt * (thr - v[k - 1]) / (v[k] - v[k - 1])


def _fall(v, thr, t, dt):
    """Last time ``v`` is at or above ``thr`` (linear interpolation to the frame after)."""
    k = v.size - 1 - int(np.argmax(v[::-1] >= thr))
    if k == v.size - 1:
        return t[-1]
    return t[k] + dt * (v[k] - thr) / (v[k] - v[k + 1])


def band_events(frame_times_s, log_power, *, onset_below_log=8.0, levels_db=(12.0, 6.0), window_s=WINDOW_S,
                span_ms=SPAN_MS, **_unused):
    """The four events of every band (see the module's docstring), in ms after the onset, scaled so that the
    window ``[onset, onset + window_s]`` spans ``[0, span_ms]``.

    Parameters
    ----------
    frame_times_s : array, shape (n_frames,)
        Evenly spaced frame times (s).
    log_power : array, shape (n_frames, n_bands)
        Natural log of the band powers (:func:`log_filterbank`).
    onset_below_log : float
        The onset is the first frame whose total log power is within this many natural-log units of its maximum.
    levels_db : (float, float)
        The two rising crossings, in dB below the band's maximum; the larger-index one also defines the offset.

    Returns
    -------
    times_ms : numpy.ndarray, shape (4 * n_bands,), float64
        Unit ``4 * band + k`` = event ``k`` of :data:`EVENTS`; every value finite, in [0, span_ms].
    onset_s : float
        The onset (s, on the signal's clock).
    """
    t = np.asarray(frame_times_s, dtype=np.float64)
    lp = np.asarray(log_power, dtype=np.float64)
    if t.ndim != 1 or t.size < 2:
        raise input_error("frame_times_s", "a 1-d array of at least 2 frame times", f"shape {t.shape}")
    if lp.ndim != 2 or lp.shape[0] != t.size:
        raise input_error("log_power", f"shape (n_frames = {t.size}, n_bands)", f"shape {lp.shape}")
    if not np.all(np.isfinite(lp)):
        raise input_error("log_power", "finite values", "NaN or infinite entries")
    dt = float(t[1] - t[0])
    top = lp.max(axis=1, keepdims=True)
    total = (top + np.log(np.exp(lp - top).sum(axis=1, keepdims=True)))[:, 0]
    k0 = int(np.argmax(total >= total.max() - onset_below_log))
    onset = _rise(total, total.max() - onset_below_log, t, dt) if k0 > 0 else t[0]
    inside = (t >= t[k0]) & (t <= onset + window_s)
    tw, w = t[inside], lp[inside]
    if tw.size < 2:
        raise input_error("frame_times_s", "at least 2 frames in the analysis window", f"{tw.size}")
    lo, hi = (float(v) / _DB for v in levels_db)
    out = np.empty((lp.shape[1], 4))
    for b in range(lp.shape[1]):
        v = w[:, b]
        m = v.max()
        out[b] = (_rise(v, m - lo, tw, dt), _rise(v, m - hi, tw, dt), tw[int(np.argmax(v))], _fall(v, m - hi, tw, dt))
    ms = (out.reshape(-1) - onset) * (span_ms / window_s)
    return np.clip(ms, 0.0, span_ms), float(onset)


def utterance_times(signal, sample_rate, params=None):
    """Signal -> the 128 event times (ms) and the onset (s): :func:`log_filterbank` then :func:`band_events`
    with ``params`` (default :data:`FEATURE_PARAMS`)."""
    p = dict(FEATURE_PARAMS if params is None else params)
    t, lp = log_filterbank(signal, sample_rate, **p)
    return band_events(t, lp, **p)


def file_sha256(path):
    """SHA-256 (hex) of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _regenerate_hint():
    return ("Reinstall the package, or regenerate it with `python bench/make_spoken_digits.py` "
            "(needs espeak-ng).")


@lru_cache(maxsize=4)
def _arrays(path, want):
    p = Path(path)
    if not p.is_file():
        raise DataMissingError(f"dataset 'spoken_digits': expected the bundled spike-time file {p}; it does not "
                               f"exist. {_regenerate_hint()}")
    data = p.read_bytes()  # read once: the bytes checked are the bytes loaded
    got = hashlib.sha256(data).hexdigest()
    if got != want:
        raise DataFormatError(f"dataset 'spoken_digits': {p} has SHA-256 {got}; expected {want} (the file is "
                              f"corrupt or from another generator run). {_regenerate_hint()}")
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    need = ("times_ms", "label", "voice", "voices")
    missing = [k for k in need if k not in arrays]
    if missing:
        raise DataFormatError(f"dataset 'spoken_digits': {p} lacks the arrays {missing}. {_regenerate_hint()}")
    return arrays


def _manifest(path):
    p = Path(path)
    if not p.is_file():
        raise DataMissingError(f"dataset 'spoken_digits': expected the manifest {p}; it does not exist. "
                               f"{_regenerate_hint()}")
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError) as e:
        raise DataFormatError(f"dataset 'spoken_digits': the manifest {p} is not readable JSON ({e}). "
                              f"{_regenerate_hint()}") from e


def spoken_digits_arrays(path=None, manifest=None, sha256=None):
    """The bundled arrays (dict of numpy arrays: ``times_ms`` (n, 128) float32, ``label``, ``voice`` (index into
    ``voices``), ``voices``, ``lang``, ``speed_wpm``, ``pitch``, ``onset_s``, ``duration_s``), checked by SHA-256.

    ``path`` / ``manifest`` default to :data:`SPOKEN_DIGITS_FILE` / :data:`SPOKEN_DIGITS_MANIFEST`; the file must
    match ``sha256`` (default :data:`SPOKEN_DIGITS_SHA256`) and the manifest's ``sha256``.
    """
    path = SPOKEN_DIGITS_FILE if path is None else Path(path)
    man = _manifest(SPOKEN_DIGITS_MANIFEST if manifest is None else manifest)
    want = SPOKEN_DIGITS_SHA256 if sha256 is None else str(sha256)
    if man.get("sha256") != want:
        raise DataFormatError(f"dataset 'spoken_digits': the manifest {manifest or SPOKEN_DIGITS_MANIFEST} gives "
                              f"SHA-256 {man.get('sha256')!r} for {path.name}; expected {want}. {_regenerate_hint()}")
    return {k: v.copy() for k, v in _arrays(str(path), want).items()}


def spoken_digits_voices(seed=0, voices=None):
    """``(train_voices, test_voices)``: the voice variants of each side of the speaker-disjoint split ``seed``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise input_error("seed", "an int", repr(seed))
    names = list(spoken_digits_arrays()["voices"]) if voices is None else list(voices)
    perm = np.random.default_rng([2121, int(seed)]).permutation(len(names))
    test = sorted(names[i] for i in perm[:N_TEST_VOICES])
    return sorted(n for n in names if n not in test), test


def load_spoken_digits(split="all", *, seed=0):
    """T2 as :class:`LabelledData` (``name`` "spoken_digits", 128 features, 20 classes): ``"all"``, or the
    ``"train"`` / ``"test"`` side of the speaker-disjoint split ``seed`` (see the module's docstring)."""
    if split not in ("all", "train", "test"):
        raise input_error("split", "one of ['all', 'train', 'test']", repr(split))
    a = spoken_digits_arrays()
    x = 1.0 - a["times_ms"].astype(np.float64) / SPAN_MS
    data = LabelledData(x, a["label"].astype(np.int64), len(CLASS_NAMES), "spoken_digits", "all", CLASS_NAMES)
    if split == "all":
        return data
    voices = [str(v) for v in a["voices"]]
    _, test = spoken_digits_voices(seed, voices)
    is_test = np.isin(np.asarray(voices)[a["voice"]], test)
    return data.subset(np.flatnonzero(is_test if split == "test" else ~is_test), split=split)
