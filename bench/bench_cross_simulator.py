"""Cross-simulator exactness: one trained network of this project in NEST (and Brian2) against the exact simulator.

The shipped MNIST network (``synsem_ephys/data/mnist_dale.pt``, 784 - 4 x (300 E + 100 I) - 10, tau_syn 5 ms,
tau_mem 10 ms = 2 tau_syn, threshold 1; ``--network digits`` takes the 64 - 2 x (60 E + 20 I) - 10 digits network)
runs on the first ``--n-trials`` latency-coded test images in

* the exact simulator (float64, :class:`synsem_ephys.sim.Network`): the reference;
* NEST 3 ``iaf_psc_exp_ps`` (precise spike times, regula falsi inside a step) and ``iaf_psc_exp_ps_lossless``
  (precise, with the lossless state-space test for crossings between events), inputs from
  ``spike_generator(precise_times=True)``;
* NEST ``iaf_psc_exp`` on the grid (resolutions ``--grid``, default 0.1 and 0.01 ms), inputs rounded to the
  nearest grid point ("what a grid costs");
* Brian2 (``--brian-python``: an interpreter of a separate environment where Brian2 imports, see bench/README.md),
  ``method="exact"``, numpy target, at the ``--brian-dt`` steps;

every recording brought back through the project's adapters (``from_nest``, ``from_brian2``) as a SpikeRecord.

Neuron mapping (the simulator's model, :mod:`synsem_ephys.sim.kernels`: ``tau_mem dV/dt = -V + I``,
``tau_syn dI/dt = -I``, ``I += w`` per input, ``V`` in units of threshold; first spike only, no reset):

* NEST ``C_m dV/dt = -C_m V / tau_m + I_syn``, ``I_syn`` jumps by the weight (pA): a weight ``w`` gives
  ``V(s) = (w / C_m) tau_m tau_s / (tau_m - tau_s) (e^{-s/tau_m} - e^{-s/tau_s})`` mV, so with ``E_L = 0``,
  ``V_th = theta_mV`` (15 mV here; threshold 1 of the simulator), ``C_m = 250 pF``:
  ``w_NEST = theta_mV C_m w (1/tau_s - 1/tau_m)`` pA for ``tau_m != tau_s`` and ``theta_mV C_m w / tau`` for
  ``tau_m = tau_s = tau``; excitatory and inhibitory synapses share ``tau_syn`` (NEST routes a weight by its sign).
* Brian2 ``dv/dt = (I - v) / tau_m``, ``dI/dt = -I / tau_s``, ``I += w``: ``v(s) = w tau_s / (tau_m - tau_s) (...)``,
  the simulator's kernel itself for tau_m = 2 tau_s (weights unchanged), ``w (s / tau) e^{-s/tau}`` for
  tau_m = tau_s (unchanged too); otherwise ``w_Brian2 = w (tau_m - tau_s) / tau_s``.
* One spike per neuron and trial: after its spike a neuron is reset to ``-1e6 x threshold`` (NEST ``V_reset``,
  with the shortest refractory period) or its threshold is disabled (Brian2: ``fired`` flag), so it cannot fire
  again in the trial; no reset effect reaches the first spikes. Every trial starts from rest: the state is set to
  zero (NEST: ``V_m``, ``I_syn_ex``, ``I_syn_in`` between ``Simulate`` calls; Brian2: ``run_regularly``) and the
  trials lie end to end, ``window_ms`` apart (the latest exact spike of the subset + 20 ms); NEST's grid
  ``iaf_psc_exp`` cannot have its currents set, so its trials are 100 ms longer (currents decay by e^-20).
* Delays: NEST needs ``delay >= resolution`` on every connection (the spike generator's too), so layer ``l``
  (1 = first hidden) of the chain arrives ``l x delay`` late; that is subtracted. Brian2's ``delay=0`` delivers a
  spike in the step after the one that reports it (also ``dt`` per layer, subtracted).

Modes: ``chain`` (each simulator propagates its own spikes through the network: what a user would see) and
``layerwise`` (every layer driven by the exact simulator's spikes of the layer before, through spike generators:
the error of one layer alone, no propagation).

Reported per layer: pairs where both fire, max / mean |dt| (ms), the signed mean (bias), spike / no-spike
disagreements in both directions, and how many of them (and the max |dt| among pairs) lie outside a grazing
margin (:func:`synsem_ephys.sim._margins.pair_margin` on the exact simulator's inputs of that neuron: the closest
approach of V to threshold, relative; below ``--margin`` a decision is ill-conditioned in double precision).

Each simulator runs in its own subprocess (NEST's OpenMP and torch / numba's never share a process; a crash of
one variant is reported and the others go on). Run (about 5 min on one thread for 100 MNIST images)::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python bench/bench_cross_simulator.py --n-trials 100 \\
        --brian-python /tmp/brian_venv/bin/python --out bench/results/cross_simulator_mnist.json
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
THETA_MV = 15.0  # NEST's threshold distance V_th - E_L for the simulator's threshold 1
C_M_PF = 250.0
RESET_FACTOR = -1e6  # V_reset in units of threshold: no second spike in a trial
SETTLE_MS = 100.0  # extra time per trial for the grid model, whose currents cannot be reset


# ---------------------------------------------------------------------------------------- the reference
def load_network(which):
    """The network named ``which`` ("mnist", "digits", "digits-ratio1" or a path) and its file.

    ``digits-ratio1`` is the tau_mem = tau_syn case, which no shipped network has: the digits network's weights
    in a spec with tau_mem = tau_syn = 5 ms, each layer rescaled (``Network.calibrate_``, 60-90 % of its units
    firing on the first 200 test images), so an untrained network with trained connectivity.
    """
    from synsem_ephys.sim import Network

    if which == "digits-ratio1":
        import dataclasses

        import torch

        base, path = load_network("digits")
        spec = dataclasses.replace(base.spec, tau_mem_ms=base.spec.tau_syn_ms)
        net = Network.from_weights(spec, [W.detach() for W in base.weights])
        net.extra = base.extra
        t_in, _, _ = reference(net, 200)
        net.calibrate_(torch.as_tensor(t_in), target=(0.6, 0.9))
        return net, path + " (tau_mem = tau_syn, calibrated)"
    path = {"mnist": HERE.parent / "synsem_ephys/data/mnist_dale.pt",
            "digits": HERE.parent / "synsem_ephys/data/digits_dale.pt"}.get(which, Path(which))
    return Network.load(path), str(path)


def reference(net, n_trials):
    """(input times (n, n_in), labels, per-layer exact first-spike times) in float64."""
    import torch

    from synsem_ephys.demo import _test_inputs
    from synsem_ephys.train.config import TrainConfig

    cfg = TrainConfig.from_dict(net.extra["config"])
    t_in, labels = _test_inputs(cfg, n_trials, None)
    with torch.no_grad():
        out = [o.numpy().astype(np.float64) for o in net(torch.as_tensor(t_in, dtype=torch.float64))]
    return t_in, labels, out


def nest_weight_factor(tau_syn_ms, tau_mem_ms, theta_mv=THETA_MV, c_m=C_M_PF):
    """pA per unit weight of the simulator (see the module docstring)."""
    if tau_mem_ms == tau_syn_ms:
        return theta_mv * c_m / tau_syn_ms
    return theta_mv * c_m * (1.0 / tau_syn_ms - 1.0 / tau_mem_ms)


# ---------------------------------------------------------------------------------------- NEST worker
def nest_worker(data, variant):
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest

    from synsem_ephys.adapters.nest import from_nest

    model, h, mode = variant["model"], float(variant["resolution_ms"]), variant["mode"]
    nest.ResetKernel()
    if hasattr(nest, "VerbosityLevel"):
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:
        nest.set_verbosity("M_ERROR")
    nest.set(resolution=h, local_num_threads=1)
    d = h  # the shortest delay NEST allows
    tau_s, tau_m = float(data["tau_syn_ms"]), float(data["tau_mem_ms"])
    tau_m_nest = tau_m * (1.0 + float(variant.get("tau_m_rel_offset", 0.0)))
    factor = nest_weight_factor(tau_s, tau_m_nest)
    weights = [data[f"W{l}"] for l in range(int(data["n_layers"]))]
    t_in = data["t_in"]
    n_trials = t_in.shape[0]
    precise = model != "iaf_psc_exp"
    # iaf_psc_exp's synaptic currents cannot be set: its trials are SETTLE_MS longer so that they decay (e^-20)
    P = float(data["window_ms"]) + (0.0 if precise else SETTLE_MS)
    params = {"E_L": 0.0, "V_m": 0.0, "V_th": THETA_MV, "V_reset": RESET_FACTOR * THETA_MV, "C_m": C_M_PF,
              "tau_m": tau_m_nest, "tau_syn_ex": tau_s, "tau_syn_in": tau_s, "t_ref": h, "I_e": 0.0}
    gen_params = {"precise_times": True} if precise else {"allow_offgrid_times": True}
    layers = [nest.Create(model, W.shape[1], params=params) for W in weights]
    if mode == "chain":
        sources = [nest.Create("spike_generator", t_in.shape[1], params=gen_params)]
        pres = [sources[0]] + layers[:-1]
    else:  # layerwise: every layer from generators holding the exact spikes of the layer before
        sources = [nest.Create("spike_generator", W.shape[0], params=gen_params) for W in weights]
        pres = sources
    for pre, post, W in zip(pres, layers, weights):
        nest.Connect(pre, post, "all_to_all", syn_spec={"weight": (W.T * factor), "delay": d})
    rec = nest.Create("spike_recorder")
    for post in layers:
        nest.Connect(post, rec)
    drive = [t_in] if mode == "chain" else [t_in] + [data[f"T{l}"] for l in range(len(weights) - 1)]
    zero = {"V_m": 0.0, "I_syn_ex": 0.0, "I_syn_in": 0.0} if precise else {"V_m": 0.0}
    t0 = time.perf_counter()
    for k in range(n_trials):
        start = k * P
        for gens, times in zip(sources, drive):
            tk = times[k]
            if not precise:  # the nearest grid point (a grid simulator's input)
                tk = np.round(tk / h) * h
            gens.set([{"spike_times": [start + float(t)] if math.isfinite(t) else []} for t in tk])
        for post in layers:
            post.set(zero)
        nest.Simulate(P)
    seconds = time.perf_counter() - t0
    record = from_nest(rec, populations={f"layer{l + 1}": post for l, post in enumerate(layers)},
                       trials=[k * P for k in range(n_trials)], trial_duration_ms=P)
    return record, seconds, {"nest_version": nest.__version__, "delay_ms": d, "trial_period_ms": P,
                             "weight_factor_pA": factor, "tau_m_nest_ms": tau_m_nest}


# ---------------------------------------------------------------------------------------- Brian2 worker
def brian2_worker(data, variant):
    import brian2 as b2

    from synsem_ephys.adapters.brian2 import from_brian2

    b2.prefs.codegen.target = variant.get("target", "numpy")
    b2.start_scope()
    dt = float(variant["dt_ms"])
    b2.defaultclock.dt = dt * b2.ms
    tau_s, tau_m = float(data["tau_syn_ms"]), float(data["tau_mem_ms"])
    # weight w gives the simulator's kernel: (tau_m - tau_s) / tau_s (1 for tau_m = 2 tau_s), 1 in the limit tau_m = tau_s
    scale = (tau_m - tau_s) / tau_s if tau_m != tau_s else 1.0
    weights = [data[f"W{l}"] for l in range(int(data["n_layers"]))]
    t_in = data["t_in"]
    n_trials = t_in.shape[0]
    P = float(data["window_ms"])
    mode = variant["mode"]
    eqs = f"""dv/dt = (I - v) / ({tau_m}*ms) : 1
dI/dt = -I / ({tau_s}*ms) : 1
fired : 1"""
    groups = [b2.NeuronGroup(W.shape[1], eqs, threshold="v >= 1 and fired < 0.5", reset="fired = 1",
                             method="exact", name=f"layer{l + 1}") for l, W in enumerate(weights)]
    for g in groups:
        g.run_regularly("v = 0\nI = 0\nfired = 0", dt=P * b2.ms, when="start")

    def generator(times, name):
        kk, uu = np.nonzero(np.isfinite(times))
        t = np.round((kk * P + times[kk, uu]) / dt) * dt  # the nearest step
        return b2.SpikeGeneratorGroup(times.shape[1], uu, t * b2.ms, name=name)

    if mode == "chain":
        sources = [generator(t_in, "input")]
        pres = sources + groups[:-1]
    else:
        drive = [t_in] + [data[f"T{l}"] for l in range(len(weights) - 1)]
        sources = [generator(x, f"exact{l}") for l, x in enumerate(drive)]
        pres = sources
    syns = []
    for l, (pre, post, W) in enumerate(zip(pres, groups, weights)):
        s = b2.Synapses(pre, post, "w : 1", on_pre="I_post += w", name=f"syn{l}")
        i, j = np.nonzero(W)
        s.connect(i=i, j=j)
        s.w = W[i, j] * scale
        syns.append(s)
    mons = [b2.SpikeMonitor(g) for g in groups]
    net = b2.Network(*groups, *sources, *syns, *mons)
    t0 = time.perf_counter()
    net.run(n_trials * P * b2.ms)
    seconds = time.perf_counter() - t0
    record = from_brian2(mons, trials=[k * P for k in range(n_trials)], trial_duration_ms=P)
    return record, seconds, {"brian2_version": b2.__version__, "delay_ms": dt, "target": b2.prefs.codegen.target}


def worker_main(args):
    data = dict(np.load(args.data))
    variant = json.loads(args.variant)
    if args.worker == "nest":
        record, seconds, info = nest_worker(data, variant)
    else:
        record, seconds, info = brian2_worker(data, variant)
    cpu = time.process_time()
    first = record.first_spike_matrix()
    counts = record.count_matrix()
    np.savez(args.result, first=first, counts=counts, layer=record.units.layer if record.units.layer is not None
             else np.zeros(record.n_units), population=np.array(record.units.population, dtype=str),
             info=json.dumps({**info, "seconds": seconds, "cpu_seconds_process": cpu, "n_spikes": int(record.n_spikes),
                              "meta_simulator": record.meta.get("simulator"),
                              "meta_simulator_version": record.meta.get("simulator_version")}))


# ---------------------------------------------------------------------------------------- comparison
def compare(exact, got, t_pre, weights, kern, margin_eps, n_check=300):
    """Per-layer statistics of ``got`` (list of (n, units) first-spike times) against ``exact``."""
    from synsem_ephys.sim._margins import pair_margin

    rows = []
    for l, (e, g) in enumerate(zip(exact, got)):
        fe, fg = np.isfinite(e), np.isfinite(g)
        both = fe & fg
        dt = np.zeros(e.shape)
        dt[both] = g[both] - e[both]
        ad = np.abs(dt)
        miss = np.argwhere(fe & ~fg)
        extra = np.argwhere(~fe & fg)

        def margin(k, n):
            return pair_margin(t_pre[l][k], weights[l][:, n], kern, e[k, n])

        dis = [(int(k), int(n), margin(k, n)) for k, n in np.concatenate([miss, extra]).tolist()]
        dis_out = [x for x in dis if x[2] >= margin_eps]
        # max |dt| outside the grazing margin: the largest |dt| whose pair is not grazing
        order = np.argsort(ad, axis=None)[::-1][: min(n_check, int(both.sum()))]
        max_out, checked, grazing_top = 0.0, 0, []
        for flat in order:
            k, n = np.unravel_index(flat, ad.shape)
            m = margin(k, n)
            checked += 1
            if m >= margin_eps:
                max_out = float(ad[k, n])
                break
            grazing_top.append({"trial": int(k), "unit": int(n), "dt_ms": float(dt[k, n]), "margin": m})
        else:
            max_out = float("nan") if order.size else 0.0
        rows.append({
            "layer": l + 1, "units": int(e.shape[1]), "pairs": int(e.size), "exact_spikes": int(fe.sum()),
            "sim_spikes": int(fg.sum()), "both": int(both.sum()),
            "max_abs_dt_ms": float(ad.max()) if both.any() else 0.0,
            "mean_abs_dt_ms": float(ad[both].mean()) if both.any() else 0.0,
            "mean_dt_ms": float(dt[both].mean()) if both.any() else 0.0,
            "missing": int(len(miss)), "extra": int(len(extra)),
            "disagreements": len(dis), "disagreements_outside_margin": len(dis_out),
            "max_abs_dt_outside_margin_ms": max_out, "grazing_pairs_above_it": grazing_top[:10],
            "disagreement_margins": sorted(float(x[2]) for x in dis)[:50],
        })
    return rows


def run_variant(kind, variant, data_path, python):
    with tempfile.TemporaryDirectory() as tmp:
        res = Path(tmp) / "res.npz"
        cmd = [python, __file__, "--worker", kind, "--data", str(data_path), "--variant", json.dumps(variant),
               "--result", str(res)]
        env = dict(os.environ, OMP_NUM_THREADS="1", PYNEST_QUIET="1")
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - t0
        if proc.returncode != 0 or not res.exists():
            return None, {"error": (proc.stderr or proc.stdout)[-3000:], "returncode": proc.returncode,
                          "wall_s": wall}
        z = np.load(res)
        info = json.loads(str(z["info"]))
        info["wall_s"] = wall
        return (z["first"], z["counts"], z["layer"]), info


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--network", default="mnist")
    p.add_argument("--n-trials", type=int, default=100)
    p.add_argument("--grid", default="0.1,0.01")
    p.add_argument("--modes", default="chain,layerwise")
    p.add_argument("--ps-resolution", type=float, default=0.1)
    p.add_argument("--margin", type=float, default=1e-6)
    p.add_argument("--brian-python", default=None)
    p.add_argument("--brian-dt", default="0.1,0.01")
    p.add_argument("--brian-trials", type=int, default=None, help="first N trials for Brian2 (default all)")
    p.add_argument("--out", default=str(HERE / "results" / "cross_simulator.json"))
    p.add_argument("--only", default=None, help="comma-separated variant names")
    p.add_argument("--worker", choices=["nest", "brian2"])
    p.add_argument("--data")
    p.add_argument("--variant")
    p.add_argument("--result")
    args = p.parse_args(argv)
    if args.worker:
        return worker_main(args)

    import torch

    torch.set_num_threads(1)
    from synsem_ephys.sim import Kernel

    t_start = time.perf_counter()
    net, path = load_network(args.network)
    spec = net.spec
    t0 = time.perf_counter()
    t_in, labels, exact = reference(net, args.n_trials)
    exact_s = time.perf_counter() - t0
    latest = max(float(np.max(x[np.isfinite(x)])) for x in exact)
    window = float(math.ceil(latest + 20.0))
    weights = net.weights_numpy()[0]
    kern = Kernel(spec.tau_syn_ms, spec.tau_mem_ms, spec.threshold)
    t_pre = [t_in] + exact[:-1]
    sizes = [W.shape[1] for W in weights]
    bounds = np.cumsum([0] + sizes)
    variants = []
    for mode in args.modes.split(","):
        for model in ("iaf_psc_exp_ps", "iaf_psc_exp_ps_lossless"):
            variants.append(("nest", f"nest_{model.replace('iaf_psc_exp_', '')}_{mode}",
                             {"model": model, "resolution_ms": args.ps_resolution, "mode": mode}))
        for h in [float(x) for x in args.grid.split(",") if x]:
            variants.append(("nest", f"nest_grid{h:g}_{mode}", {"model": "iaf_psc_exp", "resolution_ms": h,
                                                                  "mode": mode}))
        if args.brian_python:
            for dt in [float(x) for x in args.brian_dt.split(",") if x]:
                variants.append(("brian2", f"brian2_dt{dt:g}_{mode}", {"dt_ms": dt, "mode": mode}))
    if args.only:
        keep = set(args.only.split(","))
        variants = [v for v in variants if v[1] in keep]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        data_paths = {}
        for n in {args.n_trials, args.brian_trials or args.n_trials}:
            dp = Path(tmp) / f"data{n}.npz"
            np.savez(dp, t_in=t_in[:n], window_ms=window, tau_syn_ms=spec.tau_syn_ms, tau_mem_ms=spec.tau_mem_ms,
                     n_layers=len(weights), **{f"W{l}": W for l, W in enumerate(weights)},
                     **{f"T{l}": x[:n] for l, x in enumerate(exact[:-1])})
            data_paths[n] = dp
        for kind, name, variant in variants:
            n = args.n_trials if kind == "nest" else (args.brian_trials or args.n_trials)
            python = sys.executable if kind == "nest" else args.brian_python
            print(f"[{time.perf_counter() - t_start:7.1f} s] {name} ({n} trials) ...", file=sys.stderr, flush=True)
            out, info = run_variant(kind, variant, data_paths[n], python)
            entry = {"kind": kind, "variant": variant, "n_trials": n, **info}
            if out is not None:
                first, counts, _ = out
                got = [first[:, a:b] for a, b in zip(bounds[:-1], bounds[1:])]
                if variant["mode"] == "chain":
                    got = [g - (l + 1) * info["delay_ms"] for l, g in enumerate(got)]
                else:
                    got = [g - info["delay_ms"] for g in got]
                ex = [x[:n] for x in exact]
                entry["layers"] = compare(ex, got, [x[:n] for x in t_pre], weights, kern, args.margin)
                entry["max_spikes_per_neuron_and_trial"] = int(counts.max())
                summary = " | ".join(f"L{r['layer']} max {r['max_abs_dt_ms']:.2e} dis {r['disagreements']}"
                                     f"({r['disagreements_outside_margin']})" for r in entry["layers"])
                print(f"    {info['seconds']:.1f} s sim, {info['wall_s']:.1f} s wall: {summary}", file=sys.stderr,
                      flush=True)
            else:
                print(f"    FAILED: {info['error'][-500:]}", file=sys.stderr, flush=True)
            results[name] = entry
    doc = {
        "bench": "bench/bench_cross_simulator.py", "argv": sys.argv[1:],
        "network": {"path": os.path.relpath(path, HERE.parent), "layer_sizes": list(spec.layer_sizes),
                    "tau_syn_ms": spec.tau_syn_ms, "tau_mem_ms": spec.tau_mem_ms, "threshold": spec.threshold,
                    "dale": spec.dale},
        "n_trials": args.n_trials, "window_ms": window, "grazing_margin": args.margin,
        "nest_mapping": {"theta_mV": THETA_MV, "C_m_pF": C_M_PF, "E_L_mV": 0.0,
                         "V_reset_mV": RESET_FACTOR * THETA_MV, "t_ref_ms": "resolution",
                         "weight_pA_per_unit": nest_weight_factor(spec.tau_syn_ms, spec.tau_mem_ms)},
        "exact_seconds": exact_s,
        "exact_accuracy": float(np.mean(np.argmin(np.where(np.isfinite(exact[-1]), exact[-1], np.inf), 1) == labels)),
        "exact_spike_fraction": [float(np.isfinite(x).mean()) for x in exact],
        "threads": 1, "machine": os.uname().machine, "results": results,
        "total_seconds": time.perf_counter() - t_start,
    }
    from synsem_ephys._files import to_jsonable

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(to_jsonable(doc), indent=1) + "\n")
    print(f"wrote {args.out} ({doc['total_seconds']:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
