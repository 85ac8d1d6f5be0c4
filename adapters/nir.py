r"""NIR (Neuromorphic Intermediate Representation) graphs to and from :class:`~synsem_ephys.sim.Network`.

NIR's current-based LIF neuron (``nir.CubaLIF``), with ``S`` the input: a sum of unit-area Dirac deltas
(one per presynaptic spike) weighted by the preceding ``Linear``/``Affine`` node's matrix ``W``::

    tau_syn dI/dt = -I + w_in S              tau_mem dV/dt = (v_leak - V) + r I

An input spike of weight ``W_ji`` makes ``I_j`` jump by ``w_in_j W_ji / tau_syn`` and, with ``v_leak = 0``
and V starting at 0, adds ``r_j w_in_j W_ji / tau_syn`` times this package's kernel ``K`` to ``V_j``
(:mod:`synsem_ephys.sim.kernels`: the same two ODEs with ``I += w``), which has a closed form when
``tau_mem == tau_syn`` or ``tau_mem == 2 tau_syn``. So the mapping is

=====================  =========================================================================
this package           NIR
=====================  =========================================================================
``weights[l]`` (n_in   ``Linear(weight=weights[l].T)`` (NIR matrices are n_out x n_in)
x n_out)
``tau_syn_ms``         ``CubaLIF.tau_syn`` in seconds (NIR's time unit), ``tau_syn_ms / 1000``
``tau_mem_ms``         ``CubaLIF.tau_mem`` in seconds
``threshold``          ``CubaLIF.v_threshold``
(current jump = w)     ``r = 1``, ``w_in = tau_syn`` (seconds), so ``r w_in / tau_syn = 1``
(rest at 0)            ``v_leak = 0``, ``v_reset = 0``
=====================  =========================================================================

and an imported weight is ``W_ji * r_j * (w_in_j / tau_syn_j)``; per-neuron thresholds that differ are
divided into their neuron's weights (threshold 1), which fires at the same times.

Spikes: this package's neurons fire once (time-to-first-spike; V is not reset because nothing after the
first spike matters). A NIR simulator resets to ``v_reset`` and may fire again: only each neuron's first
spike corresponds. ``to_nir`` stores the NetworkSpec (populations, Dale's law, exact ms time constants)
in ``graph.metadata["synsem_ephys_spec"]``; ``from_nir`` uses it when it agrees with the graph, so
Network -> NIR -> Network gives the same weights, spec and spike times bit for bit.

Importable graphs: feedforward chains ``Input -> (Linear | Affine with zero bias) -> (CubaLIF | LI -> LIF)
-> ... -> Output`` with at least two neuron layers and one ``tau_syn``, one ``tau_mem`` for all neurons,
``tau_mem == tau_syn`` or ``tau_mem == 2 tau_syn`` (``LI -> LIF`` is a CubaLIF whose synaptic current is
the LI node: ``tau_syn = LI.tau``, ``w_in = LI.r``); anything else is refused by name. Graphs exported by
snnTorch or Norse use their own discrete-time scalings of ``r`` and ``w_in`` (e.g. snnTorch writes
``r = tau_mem / dt``, ``w_in = tau_syn / dt``): they are read with the continuous-time equations above.
"""

import json

import numpy as np
import torch

from synsem_ephys.errors import SpecError, input_error
from synsem_ephys.spec import NetworkSpec
from synsem_ephys.sim import Network
from synsem_ephys.units import MS_PER_S, s_from_ms

from ._common import import_optional

__all__ = ["to_nir", "from_nir", "SPEC_KEY"]

#: Key of ``graph.metadata`` holding the NetworkSpec as JSON.
SPEC_KEY = "synsem_ephys_spec"


def _nir():
    return import_optional("nir", "NIR graphs")


def to_nir(network):
    """Export a :class:`~synsem_ephys.sim.Network` as a NIR graph (see the module docstring for the mapping).

    Parameters
    ----------
    network : Network

    Returns
    -------
    nir.NIRGraph
        Nodes ``input``, ``linear1``, ``lif1``, ..., ``linear{L}``, ``lif{L}``, ``output`` in a chain
        (layer ``l``'s weights, then its neurons; ``L`` = hidden layers + output layer); float64 arrays;
        times in seconds; ``metadata``: ``synsem_ephys_spec`` (the spec as JSON), ``time_unit`` "s",
        ``populations`` (JSON list of the spec's populations).
    """
    nir = _nir()
    if not isinstance(network, Network):
        raise input_error("network", "a synsem_ephys.sim.Network", type(network).__name__)
    spec = network.spec
    weights, _ = network.weights_numpy()
    tau_syn_s, tau_mem_s = s_from_ms(spec.tau_syn_ms), s_from_ms(spec.tau_mem_ms)
    nodes = {"input": nir.Input(input_type=np.array([spec.n_inputs]))}
    edges, prev = [], "input"
    for l, w in enumerate(weights, start=1):
        n = w.shape[1]
        nodes[f"linear{l}"] = nir.Linear(weight=np.ascontiguousarray(w.T))
        nodes[f"lif{l}"] = nir.CubaLIF(tau_syn=np.full(n, tau_syn_s), tau_mem=np.full(n, tau_mem_s), r=np.ones(n),
                                       v_leak=np.zeros(n), v_threshold=np.full(n, float(spec.threshold)),
                                       v_reset=np.zeros(n), w_in=np.full(n, tau_syn_s))
        edges += [(prev, f"linear{l}"), (f"linear{l}", f"lif{l}")]
        prev = f"lif{l}"
    nodes["output"] = nir.Output(output_type=np.array([spec.n_outputs]))
    edges.append((prev, "output"))
    pops = [{"name": p.name, "layer": p.layer, "cell_type": p.cell_type, "start": p.start, "stop": p.stop}
            for p in spec.populations()]
    return nir.NIRGraph(nodes=nodes, edges=edges,
                        metadata={SPEC_KEY: spec.to_json(), "time_unit": "s", "populations": json.dumps(pops)})


def _chain(graph, nir):
    """Node names from the Input to the Output of a chain graph; input_error naming what breaks it."""
    nodes, edges = graph.nodes, [tuple(e) for e in graph.edges]
    inputs = [k for k, v in nodes.items() if isinstance(v, nir.Input)]
    outputs = [k for k, v in nodes.items() if isinstance(v, nir.Output)]
    if len(inputs) != 1 or len(outputs) != 1:
        raise input_error("graph", "one Input and one Output node", f"inputs {inputs}, outputs {outputs}", cls=SpecError)
    succ = {}
    for a, b in edges:
        if a in succ:
            raise input_error(f"graph.nodes[{a!r}]", "one outgoing edge (a feedforward chain)",
                              f"edges to {succ[a]!r} and {b!r}", cls=SpecError)
        succ[a] = b
    order, node = [inputs[0]], inputs[0]
    while node != outputs[0]:
        if node not in succ:
            raise input_error(f"graph.nodes[{node!r}]", "an edge to the next node towards the Output", "none",
                              cls=SpecError)
        node = succ[node]
        if node in order:
            raise input_error(f"graph.nodes[{node!r}]", "a feedforward chain", "a cycle (recurrent edge)", cls=SpecError)
        order.append(node)
    if len(order) != len(nodes) or len(edges) != len(nodes) - 1:
        extra = sorted(set(nodes) - set(order))
        raise input_error("graph", "a single chain from Input to Output", f"other nodes {extra} or edges", cls=SpecError)
    return order


def _arr(node, field, n, name):
    v = np.asarray(getattr(node, field), dtype=np.float64)
    v = np.broadcast_to(v, (n,)) if v.ndim == 0 else v.ravel()
    if v.shape != (n,) or not np.all(np.isfinite(v)):
        raise input_error(f"graph.nodes[{name!r}].{field}", f"{n} finite values", f"shape {v.shape}", cls=SpecError)
    return v


def _layers(graph, nir):
    """[(weights n_in x n_out, dict of per-neuron parameters, node name)] along the chain."""
    order = _chain(graph, nir)
    nodes = graph.nodes
    layers, k = [], 0
    body = order[1:-1]
    while k < len(body):
        wname = body[k]
        w = nodes[wname]
        if not isinstance(w, (nir.Linear, nir.Affine)):
            raise input_error(f"graph.nodes[{wname!r}]", "a Linear or Affine node (the weights of a layer)",
                              type(w).__name__, cls=SpecError)
        W = np.asarray(w.weight, dtype=np.float64)
        if W.ndim != 2 or not np.all(np.isfinite(W)):
            raise input_error(f"graph.nodes[{wname!r}].weight", "a finite 2-D matrix (n_out x n_in)",
                              f"shape {W.shape}", cls=SpecError)
        if isinstance(w, nir.Affine) and np.any(np.asarray(w.bias) != 0):
            raise input_error(f"graph.nodes[{wname!r}].bias", "zeros (the simulator has no bias currents)",
                              f"{int(np.count_nonzero(w.bias))} non-zero entries", cls=SpecError)
        n = W.shape[0]
        if k + 1 == len(body):
            raise input_error(f"graph.nodes[{wname!r}]", "a neuron node after it", "the Output", cls=SpecError)
        nname = body[k + 1]
        neuron = nodes[nname]
        if isinstance(neuron, nir.CubaLIF):
            p = {"tau_syn": _arr(neuron, "tau_syn", n, nname), "tau_mem": _arr(neuron, "tau_mem", n, nname),
                 "r": _arr(neuron, "r", n, nname), "w_in": _arr(neuron, "w_in", n, nname),
                 "v_leak": _arr(neuron, "v_leak", n, nname), "v_threshold": _arr(neuron, "v_threshold", n, nname)}
            k += 2
        elif isinstance(neuron, nir.LI) and k + 2 < len(body) and isinstance(nodes[body[k + 2]], nir.LIF):
            lname = body[k + 2]
            lif = nodes[lname]
            p = {"tau_syn": _arr(neuron, "tau", n, nname), "w_in": _arr(neuron, "r", n, nname),
                 "v_leak_syn": _arr(neuron, "v_leak", n, nname), "tau_mem": _arr(lif, "tau", n, lname),
                 "r": _arr(lif, "r", n, lname), "v_leak": _arr(lif, "v_leak", n, lname),
                 "v_threshold": _arr(lif, "v_threshold", n, lname)}
            if np.any(p.pop("v_leak_syn") != 0):
                raise input_error(f"graph.nodes[{nname!r}].v_leak", "zeros (a synaptic current decays to 0)",
                                  "non-zero values", cls=SpecError)
            nname = f"{nname} -> {lname}"
            k += 3
        elif isinstance(neuron, nir.LIF):
            raise input_error(f"graph.nodes[{nname!r}]", "CubaLIF, or an LI node (the synaptic current) before a LIF",
                              "a LIF without synaptic current (tau_syn = 0, not tau_mem or tau_mem / 2)",
                              "Use CubaLIF or insert an LI node with tau = tau_syn.", cls=SpecError)
        else:
            raise input_error(f"graph.nodes[{nname!r}]", "a CubaLIF node (or LI -> LIF)", type(neuron).__name__,
                              cls=SpecError)
        if np.any(p["v_leak"] != 0):
            raise input_error(f"graph.nodes[{nname!r}].v_leak", "zeros (the simulator's rest is V = 0)",
                              f"values {np.unique(p['v_leak'])[:3].tolist()}", cls=SpecError)
        if np.any(p["v_threshold"] <= 0):
            raise input_error(f"graph.nodes[{nname!r}].v_threshold", "positive thresholds",
                              f"minimum {p['v_threshold'].min()}", cls=SpecError)
        layers.append((W.T, p, nname))
    return layers


def _graph_spec(graph):
    meta = getattr(graph, "metadata", None) or {}
    text = meta.get(SPEC_KEY)
    if isinstance(text, bytes):  # nir.read returns string metadata as bytes
        text = text.decode("utf8")
    return NetworkSpec.from_json(text) if text else None


def from_nir(graph, *, time_scale_ms=MS_PER_S, dtype=torch.float64):
    """Import a feedforward NIR graph of CubaLIF (or LI -> LIF) layers as a :class:`~synsem_ephys.sim.Network`.

    Parameters
    ----------
    graph : nir.NIRGraph
        See the module docstring for the graphs accepted (``nir.read(path)`` reads one from a file).
    time_scale_ms : float
        Milliseconds per time unit of the graph (NIR's unit, seconds: 1000).
    dtype : torch.dtype
        Of the network's weights.

    Returns
    -------
    Network
        The spec of ``graph.metadata["synsem_ephys_spec"]`` when present (it must agree with the graph),
        else a spec without Dale's law (``hidden=((n, 0), ...)``) with the graph's time constants.

    Raises
    ------
    SpecError
        A graph that is not such a chain, time constants that differ between neurons or are neither of
        the two exact cases, non-zero ``v_leak`` or bias, or metadata that disagrees with the graph.
    """
    nir = _nir()
    if not isinstance(graph, nir.NIRGraph):
        raise input_error("graph", "a nir.NIRGraph", type(graph).__name__, cls=SpecError)
    layers = _layers(graph, nir)
    if len(layers) < 2:
        raise input_error("graph", "at least two neuron layers (hidden and output)", f"{len(layers)}", cls=SpecError)
    for l, (w, _, name) in enumerate(layers[1:], start=1):
        if w.shape[0] != layers[l - 1][0].shape[1]:
            raise input_error(f"graph.nodes[{name!r}] weights", f"{layers[l - 1][0].shape[1]} inputs (the previous layer)",
                              f"{w.shape[0]}", cls=SpecError)
    taus = {}
    for key in ("tau_syn", "tau_mem"):
        vals = np.concatenate([p[key] for _, p, _ in layers])
        if np.any(vals != vals[0]) or not vals[0] > 0:
            bad = next(name for _, p, name in layers if np.any(p[key] != vals[0]))
            raise input_error(f"graph.nodes[{bad!r}].{key}", f"one positive {key} for every neuron ({vals[0]})",
                              f"values {np.unique(vals)[:4].tolist()}", cls=SpecError)
        taus[key] = float(vals[0]) * float(time_scale_ms)
    ratio = taus["tau_mem"] / taus["tau_syn"]
    if not any(abs(ratio - r) <= 1e-12 * r for r in (1.0, 2.0)):
        raise input_error("graph tau_mem / tau_syn", "1 (tau_mem == tau_syn) or 2 (tau_mem == 2 tau_syn), the "
                          "simulator's two exact cases", f"{taus['tau_mem']} ms / {taus['tau_syn']} ms = {ratio:g}",
                          "Only these ratios have a closed-form spike time.", cls=SpecError)
    thresholds = np.concatenate([p["v_threshold"] for _, p, _ in layers])
    same = bool(np.all(thresholds == thresholds[0]))
    weights = []
    for w, p, _ in layers:
        scale = p["r"] * (p["w_in"] / p["tau_syn"])
        if not same:
            scale = scale / p["v_threshold"]
        weights.append(w if np.all(scale == 1.0) else w * scale[None, :])
    threshold = float(thresholds[0]) if same else 1.0
    sizes = [layers[0][0].shape[0]] + [w.shape[1] for w, _, _ in layers]
    spec = _graph_spec(graph)
    if spec is not None:
        agree = (spec.layer_sizes == sizes and spec.threshold == threshold
                 and all(abs(getattr(spec, f"{k}_ms") - v) <= 1e-9 * v for k, v in taus.items()))
        if not agree:
            raise input_error(f"graph.metadata[{SPEC_KEY!r}]", f"a spec matching the graph (layer sizes {sizes}, "
                              f"tau_syn {taus['tau_syn']} ms, tau_mem {taus['tau_mem']} ms, threshold {threshold})",
                              f"layer sizes {spec.layer_sizes}, tau_syn {spec.tau_syn_ms} ms, tau_mem {spec.tau_mem_ms} "
                              f"ms, threshold {spec.threshold}", "Remove the stale metadata entry.", cls=SpecError)
    else:
        spec = NetworkSpec(n_inputs=sizes[0], hidden=tuple((n, 0) for n in sizes[1:-1]), n_outputs=sizes[-1],
                           tau_syn_ms=taus["tau_syn"], tau_mem_ms=taus["tau_mem"], threshold=threshold, dale=False)
    return Network.from_weights(spec, weights, dtype=dtype)
