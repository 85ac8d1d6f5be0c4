"""What the T2 spoken-digit task measures: non-spiking baselines on the bundled spike times (not a test).

Per speaker-disjoint split (``--seeds``, the trainer's ``data_seed``: 32 training / 8 test voice variants), with
standardised features (scikit-learn):

- logistic regression and 1-NN on the 128 spike times;
- the same on "which units fire" (binary; every unit fires once in every sample, so this is constant and must
  give chance, 1/20 with balanced classes);
- logistic regression on the rank of each unit's time within its sample (order code only);
- logistic regression on the times of each event kind alone (32 units each), and on times within one language.

Results: ``bench/results/spoken_digits_baselines.json`` (per split and mean).

Usage: OMP_NUM_THREADS=1 nice -n 19 python bench/spoken_digits_baselines.py [--seeds 0,1,2]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "spoken_digits_baselines.json"


def baselines(seeds):
    from scipy.stats import rankdata
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from synsem_ephys.train.data import load_spoken_digits
    from synsem_ephys.train.data.spoken_digits import (
        EVENTS,
        SPAN_MS,
        spoken_digits_voices,
    )

    def times(d):
        return (1.0 - d.x) * SPAN_MS

    feats = {"times": times, "binary (which units fire)": lambda d: np.isfinite(times(d)).astype(float),
             "rank of each unit's time in its sample": lambda d: rankdata(times(d), axis=1)}
    for k, ev in enumerate(EVENTS):
        feats[f"times of {ev} only (32 units)"] = lambda d, k=k: times(d)[:, k::4]
    out, splits = {}, {}
    for seed in seeds:
        tr, te = load_spoken_digits("train", seed=seed), load_spoken_digits("test", seed=seed)
        splits[seed] = dict(zip(("train_voices", "test_voices"), spoken_digits_voices(seed)),
                            n_train=len(tr), n_test=len(te))
        for fname, f in feats.items():
            clfs = [("logistic", LogisticRegression(max_iter=3000, C=1.0))]
            if fname in ("times", "binary (which units fire)"):
                clfs.append(("1-NN", KNeighborsClassifier(1)))
            for cname, clf in clfs:
                m = make_pipeline(StandardScaler(), clf).fit(f(tr), tr.y)
                out.setdefault(f"{cname} on {fname}", []).append(float(m.score(f(te), te.y)))
        for lang, cls in (("English", range(10)), ("German", range(10, 20))):
            a, b = np.isin(tr.y, list(cls)), np.isin(te.y, list(cls))
            m = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)).fit(times(tr)[a], tr.y[a])
            out.setdefault(f"logistic on times, {lang} only (10 classes)", []).append(float(m.score(times(te)[b],
                                                                                                     te.y[b])))
        print(f"[{time.strftime('%H:%M:%S')}] split {seed} done", flush=True)
    return {"seeds": list(seeds), "chance": 1 / 20, "splits": {str(k): v for k, v in splits.items()},
            "per_split": out, "mean": {k: float(np.mean(v)) for k, v in out.items()},
            "sd": {k: float(np.std(v, ddof=1)) if len(v) > 1 else None for k, v in out.items()},
            "note": "standardised features; LogisticRegression(C=1, lbfgs), KNeighborsClassifier(1); the binary "
                    "code is constant (all units fire), so the classifier can only predict one class"}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="0,1,2")
    args = ap.parse_args(argv)
    from synsem_ephys._files import json_dumps, write_text_atomic

    res = baselines([int(s) for s in args.seeds.split(",")])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(RESULTS, json_dumps(res, indent=1) + "\n")
    for k, v in res["mean"].items():
        sd = res["sd"][k]
        print(f"{k:55s} {100 * v:6.1f} %" + (f" +- {100 * sd:.1f}" if sd is not None else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
