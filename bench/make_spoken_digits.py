"""Generate T2 (SynHD-TTFS, synthetic spoken digits): synsem_ephys/data/spoken_digits.npz and its manifest.

Needs the external program ``espeak-ng`` (Debian: ``apt-get install espeak-ng``; GPL-3.0+, called as a program
only; only its generated output, reduced to spike times, is shipped). The package never imports this script: it
loads the shipped arrays (synsem_ephys.train.data.spoken_digits), whose feature extraction this script calls
(``utterance_times``: 16 ms STFT, 32 log bands 100 Hz - 7 kHz, onset, 4 events per band, 0.8 s -> 100 ms).

What it does, per voice variant v (a *speaker*, :data:`VOICES`), class c (en-us "zero".."nine", de "null".."neun")
and repetition r, from the random stream ``SeedSequence([SEED, v, c, r])``: speed U(130, 210) wpm and pitch
U(25, 75) (rounded to integers, espeak-ng takes integers), ``espeak-ng -v <lang>+<variant> -s <speed> -p <pitch>
-w <wav> <word>``, white noise ``NOISE_DB`` below the utterance's RMS, then the 128 event times.

Output (atomic writes): the npz (float32 ``times_ms`` (n, 128), int16 ``label``/``voice``/``rep``, the voices
and languages as unicode arrays, float32 ``speed_wpm``/``pitch``/``onset_s``/``duration_s``) and
``spoken_digits_manifest.json`` (voices, seed, espeak-ng version, counts, the parameters, md5 and sha256 of the
file, the payload SHA-256 of every array, timing). Paste the printed sha256 into
``SPOKEN_DIGITS_SHA256`` of synsem_ephys/train/data/spoken_digits.py.

Usage: OMP_NUM_THREADS=1 nice -n 19 python bench/make_spoken_digits.py [--reps 3] [--out-dir synsem_ephys/data]
       [--check]   (--check: generate into a temporary folder and compare with the shipped file's sha256)
"""

import argparse
import hashlib
import io
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.io import wavfile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synsem_ephys._files import (
    json_dumps,
    payload_sha256,
    write_atomic,
    write_text_atomic,
)
from synsem_ephys.train.data import spoken_digits as sd

SEED = 20260212
NOISE_DB = 30.0
SPEED_WPM = (130, 210)
PITCH = (25, 75)
#: 40 espeak-ng voice variants (file names under espeak-ng-data/voices/!v): the numbered male and female
#: variants, the six Klatt variants and 21 named ones (whisper, croak and robot-like variants left out).
VOICES = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
          "klatt", "klatt2", "klatt3", "klatt4", "klatt5", "klatt6",
          "adam", "Alex", "Andy", "Annie", "belinda", "benjamin", "david", "ed", "edward", "Gene", "grandma",
          "grandpa", "Jacky", "john", "Lee", "linda", "max", "Michael", "norbert", "steph", "victor")


def espeak_version(exe):
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    return out


def synthesise(exe, lang, variant, word, speed, pitch, tmp):
    wav = Path(tmp) / "u.wav"
    subprocess.run([exe, "-v", f"{lang}+{variant}", "-s", str(speed), "-p", str(pitch), "-w", str(wav), word],
                   check=True, capture_output=True)
    sr, x = wavfile.read(wav)
    x = x.astype(np.float64)
    if x.ndim > 1:
        x = x.mean(axis=1)
    return int(sr), x / 32768.0


def generate(exe, reps, log=print):
    langs = list(sd.WORDS)
    words = [(lang, w) for lang in langs for w in sd.WORDS[lang]]
    rows = {k: [] for k in ("times_ms", "label", "voice", "rep", "speed_wpm", "pitch", "onset_s", "duration_s")}
    rates = set()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for v, variant in enumerate(VOICES):
            for c, (lang, word) in enumerate(words):
                for r in range(reps):
                    rng = np.random.default_rng(np.random.SeedSequence([SEED, v, c, r]))
                    speed = round(rng.uniform(*SPEED_WPM))
                    pitch = round(rng.uniform(*PITCH))
                    sr, x = synthesise(exe, lang, variant, word, speed, pitch, tmp)
                    rates.add(sr)
                    rms = float(np.sqrt(np.mean(x ** 2)))
                    if rms == 0:
                        raise RuntimeError(f"espeak-ng gave silence for {lang}+{variant} {word!r}")
                    x = x + rng.normal(0.0, rms * 10 ** (-NOISE_DB / 20), x.size)
                    times, onset = sd.utterance_times(x, sr)
                    ft, lp = sd.log_filterbank(x, sr, **sd.FEATURE_PARAMS)
                    top = lp.max(axis=1, keepdims=True)
                    total = top[:, 0] + np.log(np.exp(lp - top).sum(axis=1))
                    above = np.flatnonzero(total >= total.max() - sd.FEATURE_PARAMS["onset_below_log"])
                    for k, val in (("times_ms", times), ("label", c), ("voice", v), ("rep", r), ("speed_wpm", speed),
                                   ("pitch", pitch), ("onset_s", onset), ("duration_s", ft[above[-1]] - onset)):
                        rows[k].append(val)
            log(f"[{time.strftime('%H:%M:%S')}] voice {v + 1}/{len(VOICES)} {variant}: "
                f"{len(rows['label'])} samples, {time.perf_counter() - t0:.0f} s")
    arrays = {"times_ms": np.asarray(rows["times_ms"], dtype=np.float32),
              "label": np.asarray(rows["label"], dtype=np.int16), "voice": np.asarray(rows["voice"], dtype=np.int16),
              "rep": np.asarray(rows["rep"], dtype=np.int16), "speed_wpm": np.asarray(rows["speed_wpm"], np.float32),
              "pitch": np.asarray(rows["pitch"], np.float32), "onset_s": np.asarray(rows["onset_s"], np.float32),
              "duration_s": np.asarray(rows["duration_s"], np.float32),
              "voices": np.asarray(VOICES), "class_names": np.asarray(sd.CLASS_NAMES),
              "events": np.asarray(sd.EVENTS)}
    return arrays, sorted(rates), time.perf_counter() - t0


def npz_bytes(arrays):
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3, help="repetitions per voice and class (default 3)")
    ap.add_argument("--out-dir", default=str(sd.SPOKEN_DIGITS_FILE.parent))
    ap.add_argument("--espeak", default="espeak-ng", help="the espeak-ng executable")
    ap.add_argument("--check", action="store_true", help="regenerate and compare with the shipped file's sha256")
    args = ap.parse_args(argv)
    if args.reps < 1:
        ap.error(f"--reps: expected a positive int; got {args.reps}")
    exe = shutil.which(args.espeak)
    if exe is None:
        sys.exit(f"--espeak: expected an espeak-ng executable on PATH; got {args.espeak!r}, which is not found "
                 "(Debian: apt-get install espeak-ng).")
    version = espeak_version(exe)
    arrays, rates, seconds = generate(exe, args.reps)
    t = arrays["times_ms"]
    assert t.shape == (len(VOICES) * 20 * args.reps, 4 * sd.N_BANDS) and np.all(np.isfinite(t))
    data = npz_bytes(arrays)
    sha, md5 = hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest()
    if args.check:
        print(f"regenerated sha256 {sha}; shipped {sd.SPOKEN_DIGITS_SHA256}: "
              f"{'identical' if sha == sd.SPOKEN_DIGITS_SHA256 else 'DIFFERENT'}")
        return 0 if sha == sd.SPOKEN_DIGITS_SHA256 else 1
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    npz = out / sd.SPOKEN_DIGITS_FILE.name
    write_atomic(npz, lambda fh: fh.write(data), size_hint=len(data))
    dur = arrays["duration_s"]
    manifest = {
        "file": npz.name, "sha256": sha, "md5": md5, "bytes": len(data),
        "array_payload_sha256": {k: payload_sha256(v) for k, v in arrays.items() if v.dtype.kind != "U"},
        "n_samples": int(t.shape[0]), "n_inputs": int(t.shape[1]), "n_classes": 20,
        "class_names": list(sd.CLASS_NAMES), "words": {k: list(v) for k, v in sd.WORDS.items()},
        "voices": list(VOICES), "n_voices": len(VOICES), "reps_per_voice_and_class": args.reps,
        "unit_order": "unit 4 * band + k is event k of the band; bands low to high frequency",
        "events": list(sd.EVENTS),
        "synthesis": {"program": "espeak-ng", "version": version, "voice": "<lang>+<variant>",
                      "command": "espeak-ng -v <lang>+<variant> -s <speed_wpm> -p <pitch> -w <wav> <word>",
                      "speed_wpm_uniform": list(SPEED_WPM), "pitch_uniform": list(PITCH),
                      "rounding": "speed and pitch rounded to integers", "noise_db_below_rms": NOISE_DB,
                      "sample_rates_hz": rates},
        "seed": SEED, "random_stream": "numpy default_rng(SeedSequence([seed, voice_index, class, rep])): speed, "
                                       "pitch, then the noise",
        "features": dict(sd.FEATURE_PARAMS, levels_db=list(sd.FEATURE_PARAMS["levels_db"]),
                         band_edges_hz=[round(float(e), 3) for e in sd.band_edges()],
                         window="Hann, FFT zero-padded so that every band holds a bin",
                         log="natural log of band power (floor 1e-12 of the utterance's largest band power)",
                         onset="first frame whose total log power is within onset_below_log of its maximum"),
        "stats": {"duration_s_mean": float(dur.mean()), "duration_s_max": float(dur.max()),
                  "fraction_longer_than_window": float(np.mean(dur > sd.WINDOW_S)),
                  "times_at_span_end_fraction": float(np.mean(t >= sd.SPAN_MS)),
                  "times_at_zero_fraction": float(np.mean(t <= 0))},
        "generator": "bench/make_spoken_digits.py", "generation_seconds": round(seconds, 1),
        "python": platform.python_version(), "numpy": np.__version__,
    }
    write_text_atomic(out / sd.SPOKEN_DIGITS_MANIFEST.name, json_dumps(manifest, indent=1) + "\n")
    print(json.dumps(manifest["stats"], indent=1))
    print(f"wrote {npz} ({len(data)} bytes), sha256 {sha}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
