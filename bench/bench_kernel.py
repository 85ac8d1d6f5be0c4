"""The fused exact kernel against the torch path, an efficient Euler forward and dense matmuls (not a test).

Networks (784 - 4 x (300E + 100I) - 10, Dale's law):

* ``trained``: the shipped ``synsem_ephys/data/mnist_dale.pt`` (tau_mem = 2 tau_syn);
* ``random``: ``Network(spec, seed=1)`` with the same spec, calibrated (``calibrate_``, 50-90 % of each layer's
  units fire on the first 200 patterns).

Inputs: the bundled MNIST test images (``load_mnist_test_subset``), latency-coded with the trained network's
``LatencyCode`` (its training config; pixels 0 never spike). Timed in this process, round robin over
``--repeat`` repeats (medians reported), on the same batch and threads:

* ``exact[torch]`` and ``exact[numba]``: the exact forward (``spike_times(..., backend=...)``, layer by layer,
  no grad) and forward + backward (weights and input times require grad; loss = sum of the finite
  spike times of every layer);
* ``euler``: forward Euler at ``dt = 0.01 tau_syn``, efficient: per layer and chunk of samples the input
  currents are binned once (one ``index_add_`` of weight rows into a (steps, samples, n_out) tensor), then
  every step is five in-place elementwise ops on (samples, n_out) (``I += I_in[k]``, ``V.lerp_(I, dt/tau_m)``,
  ``I *= 1 - dt/tau_s``, running max of V, count of steps below threshold); the window ends at the latest
  exact spike of the layer + 1 ms (in Euler's favour); the Euler chunk size is the fastest of
  ``--euler-chunks``;
* ``dense``: the matmuls of the same shapes (``h = h @ W`` per layer) and their forward + backward;
* ``floor``: the issue's exact floor (:func:`floor_forward`: sort, one exponential feature, one GEMM per layer,
  on each layer's exact inputs); ``floor/Euler`` is the most any exact method of that shape can reach against
  the Euler baseline.

Prints patterns/s and the ratios exact/Euler (speed-up of exact over Euler), dense/exact and
(fwd+bwd) dense/exact (how many times slower than dense), per backend; writes everything (raw times,
config, machine) to ``bench/results/bench_kernel_<tag>.json``.

Usage: python bench/bench_kernel.py [--n 1000] [--n-euler 200] [--threads 2] [--repeat 5]
       [--dtypes float64,float32] [--nets trained,random] [--tag NAME]
"""

import argparse
import json
import math
import os
import platform
import statistics
import time

import torch

from synsem_ephys._files import write_atomic
from synsem_ephys.encoding import LatencyCode
from synsem_ephys.sim import Network, spike_times
from synsem_ephys.spec import NetworkSpec
from synsem_ephys.train.data import load_mnist_test_subset

SHIPPED = "synsem_ephys/data/mnist_dale.pt"
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


# ---------------------------------------------------------------------------------------------- problems
def load_problem(name, dtype, n):
    """(network, input times (n, 784), description) for ``trained`` or ``random``."""
    trained = Network.load(SHIPPED, dtype=dtype)
    cfg = trained.extra["config"]
    code = LatencyCode(cfg["tau_syn_ms"], cfg["t_early"], cfg["t_late"], cfg["zero_never_spikes"])
    x = load_mnist_test_subset().x[:n]
    t_in = torch.tensor(code.encode(x), dtype=dtype)
    if name == "trained":
        return trained, t_in, f"shipped {SHIPPED}"
    spec = trained.spec
    net = Network(spec, seed=1, dtype=dtype)
    fr = net.calibrate_(t_in[:200], target=(0.5, 0.9))
    return net, t_in, f"Network(spec, seed=1).calibrate_ (firing fractions {[round(f, 2) for f in fr]})"


# ---------------------------------------------------------------------------------------------- baselines
def euler_layer(t_in, W, tau_syn, tau_mem, threshold, dt, t_end, chunk):
    """First-spike times of one layer by forward Euler, input currents binned once, elementwise steps only."""
    B, n_out = t_in.shape[0], W.shape[1]
    steps = max(1, int(math.ceil(t_end / dt)))
    am, keep = dt / tau_mem, 1.0 - dt / tau_syn
    out = W.new_full((B, n_out), math.inf)
    for c0 in range(0, B, chunk):
        t = t_in[c0 : c0 + chunk]
        b = t.shape[0]
        k = torch.floor(t / dt)
        use = torch.isfinite(t) & (k < steps)
        bi, ii = torch.nonzero(use, as_tuple=True)
        I_in = W.new_zeros((steps * b, n_out))
        I_in.index_add_(0, k[bi, ii].long() * b + bi, W[ii])
        I_in = I_in.view(steps, b, n_out)
        V = W.new_zeros((b, n_out))
        I = W.new_zeros((b, n_out))
        vmax = W.new_full((b, n_out), -math.inf)
        below = torch.zeros((b, n_out), dtype=torch.int32)
        lt = torch.empty((b, n_out), dtype=torch.bool)
        for s in range(steps):
            I.add_(I_in[s])
            V.lerp_(I, am)
            I.mul_(keep)
            torch.maximum(vmax, V, out=vmax)
            below.add_(torch.lt(vmax, threshold, out=lt))
        out[c0 : c0 + b] = torch.where(vmax >= threshold, (below + 1).to(W.dtype) * dt, out[c0 : c0 + b])
    return out


def euler_forward(net, t_in, exact_outs, chunk):
    spec = net.spec
    dt = 0.01 * spec.tau_syn_ms
    h, outs = t_in, []
    for W, ex in zip(net.weights, exact_outs):
        fin = ex[torch.isfinite(ex)]
        t_end = (float(fin.max()) if fin.numel() else 10 * spec.tau_syn_ms) + 1.0
        h = euler_layer(h, W.detach(), spec.tau_syn_ms, spec.tau_mem_ms, spec.threshold, dt, t_end, chunk)
        outs.append(h)
    return outs


def dense_forward(Ws, t_in):
    h = torch.where(torch.isfinite(t_in), t_in, torch.zeros_like(t_in))
    for W in Ws:
        h = h @ W
    return h


def floor_forward(net, t_in, exact_outs):
    """The issue's exact floor, per layer on that layer's exact inputs: sort each sample's input times, one
    exponential feature ``exp((t - t_last) / tau_mem)`` (0 for no spike; ``t_last`` the sample's latest input),
    one GEMM with the weights. What any exact method that reads every input once costs at least (it is also the
    answer where every unit fires after its last input); no per-interval test, no solve."""
    tau = net.spec.tau_mem_ms
    h, out = t_in, None
    for W, nxt in zip(net.weights, exact_outs):
        ts, _ = torch.sort(h, dim=1)
        fin = torch.isfinite(ts)
        last = torch.where(fin, ts, torch.full_like(ts, -math.inf)).amax(dim=1, keepdim=True)
        feat = torch.exp((h - last.clamp_min(0.0)) / tau)  # +inf inputs -> exp(+inf)=inf: masked next
        feat = torch.where(torch.isfinite(h), feat, torch.zeros_like(feat))
        out = feat @ W
        h = nxt
    return out


def exact_forward(net, t_in, backend):
    spec = net.spec
    kw = dict(tau_syn_ms=spec.tau_syn_ms, tau_mem_ms=spec.tau_mem_ms, threshold=spec.threshold, backend=backend)
    h, outs = t_in, []
    for W in net.weights:
        h = spike_times(h, W, **kw)
        outs.append(h)
    return outs


def finite_sum(outs):
    return sum(torch.where(torch.isfinite(o), o, torch.zeros_like(o)).sum() for o in outs)


# ---------------------------------------------------------------------------------------------- float32
F32_MARGIN = 1e-5  # relative grazing margin of float32 (the one in tests/sim/test_float32.py)


def float32_exactness(ratio, backends, n, seed=1, dale=True, zero_never_spikes=True, trained=False):
    """float32 against float64 on a calibrated 784-400-400-400-10 network (or the trained one), layer by layer.

    Each layer's problem is the float64 network's input to that layer; float64 solves it as is, float32
    with inputs and weights rounded to float32. Reports, per backend, the largest |t32 - t64| over units
    both fire (all, and outside the grazing margin), the spike / no-spike disagreements and how many of
    them lie outside the margin (:func:`synsem_ephys.sim._margins.pair_margin`), and the forward time.
    """
    from synsem_ephys.sim._margins import pair_margin

    tau_s = 5.0
    if trained:
        net, t_in, _ = load_problem("trained", torch.float64, n)
        spec, fr = net.spec, None
    else:
        hidden = ((300, 100),) * 3 if dale else ((400, 0),) * 3
        spec = NetworkSpec(784, hidden=hidden, n_outputs=10, tau_syn_ms=tau_s, tau_mem_ms=ratio * tau_s, dale=dale)
        code = LatencyCode(tau_s, zero_never_spikes=zero_never_spikes)
        t_in = torch.tensor(code.encode(load_mnist_test_subset().x[:n]), dtype=torch.float64)
        net = Network(spec, seed=seed)
        fr = net.calibrate_(t_in[: min(n, 200)], target=(0.5, 0.9))
    kern = net.kernel
    kw = dict(tau_syn_ms=spec.tau_syn_ms, tau_mem_ms=spec.tau_mem_ms, threshold=spec.threshold)
    inputs, h = [], t_in
    with torch.no_grad():
        for W in net.weights:
            inputs.append(h)
            h = spike_times(h, W, backend="torch", **kw)
    out = {"network": "trained" if trained else "calibrated random", "ratio": spec.tau_mem_ms / spec.tau_syn_ms,
           "n": n, "dale": spec.dale, "firing_fractions": fr, "margin": F32_MARGIN, "backends": {}}
    for b in backends:
        # end to end (errors propagate: a layer's float32 inputs are float32 outputs; no margin applies)
        h32, h64, net_dt, net_dis = t_in.float(), t_in, 0.0, 0
        with torch.no_grad():
            for W in net.weights:
                h64 = spike_times(h64, W, backend=b, **kw)
                h32 = spike_times(h32, W.float(), backend=b, **kw)
                both = torch.isfinite(h64) & torch.isfinite(h32)
                net_dis += int((torch.isfinite(h64) != torch.isfinite(h32)).sum())
                net_dt = max(net_dt, float((h64 - h32.double())[both].abs().max()) if bool(both.any()) else 0.0)
        rows, t32_s, t64_s = [], 0.0, 0.0
        for l, (x, W) in enumerate(zip(inputs, net.weights)):
            W = W.detach()
            with torch.no_grad():
                s64, a = timed(lambda: spike_times(x, W, backend=b, **kw))
                s32, c = timed(lambda: spike_times(x.float(), W.float(), backend=b, **kw))
            t64_s, t32_s = t64_s + s64, t32_s + s32
            c = c.double()
            both = torch.isfinite(a) & torch.isfinite(c)
            dt = torch.where(both, (a - c).abs(), torch.zeros_like(a))
            dis = torch.nonzero(torch.isfinite(a) != torch.isfinite(c), as_tuple=False).tolist()
            big = torch.nonzero(dt > 1e-4, as_tuple=False).tolist()
            marg = {(i, j): pair_margin(x[i].numpy(), W[:, j].numpy(), kern, float(a[i, j])) for i, j in dis + big}
            dis_out = [p for p in dis if marg[tuple(p)] > F32_MARGIN]
            dt_clear = max([float(dt[i, j]) for i, j in big if marg[(i, j)] > F32_MARGIN] +
                           [float(torch.where(dt > 1e-4, torch.zeros_like(dt), dt).max())])
            rows.append({"layer": l + 1, "max_abs_dt_ms": float(dt.max()), "max_abs_dt_outside_margin_ms": dt_clear,
                         "disagreements": len(dis), "disagreements_outside_margin": len(dis_out),
                         "margins_of_disagreements": sorted(marg[tuple(p)] for p in dis)})
        if b == "numba":  # what the float64 state costs: the same kernel with a float32 state (not a backend)
            import numpy as np

            from synsem_ephys.sim import fused

            st, err, dis32 = {"float64": 0.0, "float32": 0.0}, 0.0, 0
            for x, W in zip(inputs, net.weights):
                x32, W32 = x.float(), W.detach().float()
                with torch.no_grad():
                    a = spike_times(x, W.detach(), backend=b, **kw)
                fused.forward_arrays(x32[:2], W32, kern, state_dtype=np.float32)  # compile outside the timing
                for rep in range(3):
                    for name, sd in (("float64", np.float64), ("float32", np.float32)):
                        s_, r_ = timed(lambda: fused.forward_arrays(x32, W32, kern, state_dtype=sd)[0])
                        st[name] += s_ / 3
                        if name == "float32" and rep == 0:
                            c = r_.double()
                            both = torch.isfinite(a) & torch.isfinite(c)
                            err = max(err, float((a - c)[both].abs().max()) if bool(both.any()) else 0.0)
                            dis32 += int((torch.isfinite(a) != torch.isfinite(c)).sum())
            out["numba_state_cost"] = {"kernel_s_float64_state": st["float64"], "kernel_s_float32_state": st["float32"],
                                       "float32_state_max_abs_dt_ms": err, "float32_state_disagreements": dis32}
        out["backends"][b] = {"layers": rows, "forward_s_float64": t64_s, "forward_s_float32": t32_s,
                              "end_to_end_max_abs_dt_ms": net_dt, "end_to_end_disagreements": net_dis,
                              "max_abs_dt_ms": max(r["max_abs_dt_ms"] for r in rows),
                              "max_abs_dt_outside_margin_ms": max(r["max_abs_dt_outside_margin_ms"] for r in rows),
                              "disagreements": sum(r["disagreements"] for r in rows),
                              "disagreements_outside_margin": sum(r["disagreements_outside_margin"] for r in rows)}
    return out


# ---------------------------------------------------------------------------------------------- timing
def timed(fn):
    t0 = time.perf_counter()
    res = fn()
    return time.perf_counter() - t0, res


def bench_case(net_name, dtype, args, backends):
    net, t_in, desc = load_problem(net_name, dtype, args.n)
    ne = min(args.n_euler, args.n)
    Ws = [W.detach() for W in net.weights]
    times = {}

    def add(key, s):
        times.setdefault(key, []).append(s)

    with torch.no_grad():
        outs = {b: exact_forward(net, t_in[:50], b) for b in backends}  # warm-up (numba compile / cache load)
        outs = {b: exact_forward(net, t_in, b) for b in backends}
    ref = outs["torch"]
    agree = {}
    for b in backends:
        dis = sum(int((torch.isfinite(x) != torch.isfinite(y)).sum()) for x, y in zip(ref, outs[b]))
        both = [(x - y)[torch.isfinite(x) & torch.isfinite(y)].abs().max() for x, y in zip(ref, outs[b])]
        agree[b] = {"spike_disagreements_vs_torch": dis, "max_abs_dt_vs_torch_ms": float(max(both))}
    with torch.no_grad():
        chunk_t = {}
        for c in args.euler_chunks:  # pick the fastest chunk for Euler once
            chunk_t[c] = timed(lambda: euler_forward(net, t_in[:ne], [o[:ne] for o in ref], c))[0]
        e_chunk = min(chunk_t, key=chunk_t.get)
    euler_err = None
    for rep in range(args.repeat):
        for b in backends:
            with torch.no_grad():
                add(f"fwd[{b}]", timed(lambda: exact_forward(net, t_in, b))[0])
            net.zero_grad(set_to_none=True)
            tp = t_in.clone().requires_grad_(True)
            add(f"fwdbwd[{b}]", timed(lambda: finite_sum(exact_forward(net, tp, b)).backward())[0])
        with torch.no_grad():
            s, eul = timed(lambda: euler_forward(net, t_in[:ne], [o[:ne] for o in ref], e_chunk))
            add("euler", s)
            add("dense", timed(lambda: dense_forward(Ws, t_in))[0])
            add("floor", timed(lambda: floor_forward(net, t_in, ref))[0])
        if euler_err is None:
            d = [(e - x[:ne])[torch.isfinite(e) & torch.isfinite(x[:ne])].abs().max() for e, x in zip(eul, ref)]
            mism = sum(int((torch.isfinite(e) != torch.isfinite(x[:ne])).sum()) for e, x in zip(eul, ref))
            euler_err = {"max_abs_dt_ms": float(max(d)), "spike_mismatches": mism}
        Wg = [W.clone().requires_grad_(True) for W in Ws]
        tp = torch.where(torch.isfinite(t_in), t_in, torch.zeros_like(t_in)).requires_grad_(True)
        add("dense_fwdbwd", timed(lambda: dense_forward(Wg, tp).sum().backward())[0])
    med = {k: statistics.median(v) for k, v in times.items()}
    pps = {k: (ne if k == "euler" else args.n) / v for k, v in med.items()}
    ratios = {}
    for b in backends:
        ratios[b] = {
            "exact_over_euler_speedup": pps[f"fwd[{b}]"] / pps["euler"],
            "dense_over_exact_fwd_slowdown": pps["dense"] / pps[f"fwd[{b}]"],
            "dense_over_exact_fwdbwd_slowdown": pps["dense_fwdbwd"] / pps[f"fwdbwd[{b}]"],
            "floor_over_exact_fwd_slowdown": pps["floor"] / pps[f"fwd[{b}]"],
        }
    ratios["floor_over_euler_speedup"] = pps["floor"] / pps["euler"]
    firing = [round(float(torch.isfinite(o).float().mean()), 3) for o in ref]
    latest = [float(o[torch.isfinite(o)].max()) if bool(torch.isfinite(o).any()) else None for o in ref]
    return {"network": net_name, "description": desc, "dtype": str(dtype).replace("torch.", ""),
            "firing_fractions": firing, "latest_spike_ms": latest, "euler_chunk": e_chunk,
            "euler_chunk_times_s": chunk_t, "euler_vs_exact": euler_err, "agreement": agree,
            "times_s": times, "median_s": med, "patterns_per_s": pps, "ratios": ratios}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--n-euler", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dtypes", default="float64,float32")
    ap.add_argument("--nets", default="trained,random")
    ap.add_argument("--backends", default="torch,numba")
    ap.add_argument("--euler-chunks", default="25,50,100")
    ap.add_argument("--tag", default="default")
    ap.add_argument("--float32", type=int, default=0, metavar="N",
                    help="also check float32 against float64 on N patterns (calibrated 784-400-400-400-10, "
                         "both tau cases)")
    ap.add_argument("--skip-timing", action="store_true")
    args = ap.parse_args()
    args.euler_chunks = [int(c) for c in args.euler_chunks.split(",")]
    torch.set_num_threads(args.threads)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    results, f32 = [], []
    cases = ((1.0, True, False), (2.0, True, False), (1.0, False, False), (2.0, False, False), (2.0, True, True))
    for ratio, dale, trained in (cases if args.float32 else ()):
        r = float32_exactness(ratio, backends, args.float32, dale=dale, trained=trained)
        f32.append(r)
        what = "the trained network" if trained else ("Dale 300E+100I" if dale else "no Dale, 400") + " hidden"
        print(f"float32 vs float64, tau_mem = {r['ratio']:g} tau_syn, {what}, {args.float32} patterns, "
              f"firing {r['firing_fractions'] and [round(f, 2) for f in r['firing_fractions']]}")
        for b, q in r["backends"].items():
            print(f"  {b:5s} max|dt| {q['max_abs_dt_ms']:.3g} ms (outside margin "
                  f"{q['max_abs_dt_outside_margin_ms']:.3g}), disagreements {q['disagreements']} (outside margin "
                  f"{q['disagreements_outside_margin']}), forward float64 {q['forward_s_float64']:.2f} s, float32 "
                  f"{q['forward_s_float32']:.2f} s; end to end: max|dt| {q['end_to_end_max_abs_dt_ms']:.3g} ms, "
                  f"disagreements {q['end_to_end_disagreements']}")
        if "numba_state_cost" in r:
            print(f"  numba on float32 inputs, kernel time float64 state / float32 state and the float32 state's "
                  f"errors: {r['numba_state_cost']}")
    for net_name in ([] if args.skip_timing else args.nets.split(",")):
        for dt in args.dtypes.split(","):
            r = bench_case(net_name, getattr(torch, dt), args, backends)
            results.append(r)
            print(f"\n{net_name} {r['dtype']}: {r['description']}; firing {r['firing_fractions']}, latest spike "
                  f"{[round(x, 1) if x else x for x in r['latest_spike_ms']]} ms; Euler chunk {r['euler_chunk']}, "
                  f"Euler vs exact: {r['euler_vs_exact']}")
            p = r["patterns_per_s"]
            print(f"  euler {p['euler']:9.1f}/s  dense {p['dense']:9.1f}/s  dense fwd+bwd {p['dense_fwdbwd']:9.1f}/s  "
                  f"floor {p['floor']:9.1f}/s (floor/Euler {r['ratios']['floor_over_euler_speedup']:.1f}x)")
            for b in backends:
                q = r["ratios"][b]
                print(f"  exact[{b:5s}] fwd {p[f'fwd[{b}]']:8.1f}/s  fwd+bwd {p[f'fwdbwd[{b}]']:8.1f}/s   "
                      f"exact/Euler {q['exact_over_euler_speedup']:6.2f}x  "
                      f"dense/exact {q['dense_over_exact_fwd_slowdown']:7.1f}x  "
                      f"fwd+bwd dense/exact {q['dense_over_exact_fwdbwd_slowdown']:7.1f}x  "
                      f"floor/exact {q['floor_over_exact_fwd_slowdown']:5.1f}x  {r['agreement'][b]}")
    cfg = {k: v for k, v in vars(args).items()}
    meta = {"config": cfg, "torch": torch.__version__, "threads": torch.get_num_threads(),
            "machine": platform.processor() or platform.machine(), "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S"), "load_avg": os.getloadavg()}
    try:
        import numba

        meta["numba"] = numba.__version__
    except ImportError:
        meta["numba"] = None
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, f"bench_kernel_{args.tag}.json")
    text = json.dumps({"meta": meta, "results": results, "float32": f32}, indent=1, default=str)
    write_atomic(path, lambda fh: fh.write(text), mode="w")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
