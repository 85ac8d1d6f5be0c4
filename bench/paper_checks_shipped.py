"""The report's science checks on the shipped MNIST network (bundled 1,000 test images), default and paper definitions.

Run: ``python bench/paper_checks_shipped.py``; writes bench/results/paper_checks_shipped_mnist.json.
"""
import json, time
import torch
torch.set_num_threads(1)
from synsem_ephys.sim import Network
from synsem_ephys.demo import shipped_network_path
from synsem_ephys.encoding import LatencyCode
from synsem_ephys.train.config import TrainConfig
from synsem_ephys.train.data import load_mnist_test_subset
from synsem_ephys.report import ReportOptions, analyze
net = Network.load(shipped_network_path())
cfg = TrainConfig.from_dict(net.extra["config"])
d = load_mnist_test_subset()
t = LatencyCode.from_config(cfg).encode(d.x)
rec = net.record(t, labels=d.y)
ws, signs = net.weights_numpy()
out = {}
for name, opts in (("default", ReportOptions(complexity_trials=0)), ("paper", ReportOptions.paper(complexity_trials=0))):
    t0 = time.perf_counter()
    res = analyze(rec, weights=ws, signs=signs, options=opts)
    out[name] = {c.name: {"passed": c.passed, "detail": c.detail, "definition": c.definition} for c in res.checks}
    out[name]["seconds"] = time.perf_counter() - t0
    for c in res.checks:
        print(name, c.name, c.passed, "|", c.detail)
import pathlib
json.dump(out, open(pathlib.Path(__file__).resolve().parent / "results" / "paper_checks_shipped_mnist.json", "w"), indent=1, default=str)
