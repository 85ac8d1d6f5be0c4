"""Network specification: layer sizes, populations, LIF parameters; JSON round trip.

A network is feedforward: ``n_inputs`` input units -> hidden layers -> ``n_outputs`` output units.
Each hidden layer holds populations. With ``dale=True`` a hidden layer is ``n_exc`` excitatory units
followed by ``n_inh`` inhibitory units, and every weight *leaving* an excitatory unit is >= 0, every
weight leaving an inhibitory unit <= 0 (Dale's law acts on presynaptic units). Input units are
unconstrained. Output units have no outgoing weights.

Neuron model (all units of the network share it)::

    tau_mem_ms == tau_syn_ms == tau:  V(t) = sum_i w_i ((t - t_i)/tau) exp(-(t - t_i)/tau)
    tau_mem_ms == 2 * tau_syn_ms:     V(t) = sum_i w_i (exp(-(t - t_i)/tau_mem) - exp(-(t - t_i)/tau_syn))

A unit fires once, at the first time V(t) reaches ``threshold``.  Göltz et al. (2021) write the
threshold as ``g_L (theta - E_L)``.

Transmission delays (optional, per weight matrix): a spike of presynaptic unit ``i`` at ``t_i`` arrives at
postsynaptic unit ``j`` at ``t_i + d_ij``; ``delays[l]`` says how the delays of matrix ``l`` are shared:
``"none"``, ``"axonal"`` (one ``d_i`` per presynaptic unit), ``"dendritic"`` (one ``d_j`` per postsynaptic
unit) or ``"synaptic"`` (one ``d_ij`` per synapse), each bounded, ``0 < d < delay_max_ms[l]``
(``d = delay_max_ms * sigmoid(theta)`` in :class:`synsem_ephys.sim.Network`). A spec without delays writes
no delay keys to JSON, so its JSON is what it was before delays existed.
"""

import json
import math
import numbers
from dataclasses import asdict, dataclass, field

from .errors import SpecError

__all__ = ["Population", "NetworkSpec", "SUPPORTED_TAU_RATIOS", "DELAY_KINDS", "check_tau", "check_hidden",
           "unit_name"]


def unit_name(population, index):
    """The one naming rule of a network's units: ``f"{population}_{index}"`` (e.g. ``"hidden2_E_17"``).

    Used by the record's unit table and by the weight graphs, so that a graph node and a recorded unit
    of the same neuron carry the same name.
    """
    return f"{population}_{index}"

#: tau_mem / tau_syn ratios with a closed-form first-spike time.
SUPPORTED_TAU_RATIOS = (1.0, 2.0)

#: How the transmission delays of a weight matrix are shared (see the module docstring).
DELAY_KINDS = ("none", "axonal", "dendritic", "synaptic")


@dataclass(frozen=True)
class Population:
    """A contiguous block of units inside one layer.

    Attributes
    ----------
    name : str
        Unique name, e.g. ``"hidden1_E"``.
    layer : int
        0 = input layer, 1..n_hidden = hidden layers, n_hidden + 1 = output layer.
    cell_type : str
        ``"input"``, ``"E"``, ``"I"``, ``"hidden"`` (no Dale's law) or ``"output"``.
    start, stop : int
        Unit indices inside the layer, ``stop`` exclusive.
    """

    name: str
    layer: int
    cell_type: str
    start: int
    stop: int

    @property
    def size(self):
        return self.stop - self.start


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def check_hidden(hidden, dale):
    """The hidden layers as a tuple of ``(n_exc, n_inh)`` int pairs, checked strictly; SpecError naming the layer.

    A layer is a pair of non-negative ints with ``n_exc + n_inh >= 1`` (a float such as 2.7 or 2.0, or a
    bool, is refused, not rounded). Without Dale's law a layer may be given as one int ``n`` (= ``(n, 0)``)
    and ``n_inh`` must be 0. Under Dale's law every layer must be a pair: ``[60, 20]`` would otherwise read
    as two purely excitatory layers.
    """
    if not isinstance(hidden, (list, tuple)) or len(hidden) == 0:
        raise SpecError(f"hidden: expected a non-empty list of [n_exc, n_inh] pairs (one per hidden layer); "
                        f"got {hidden!r}.")
    out = []
    for k, layer in enumerate(hidden):
        if _is_int(layer):
            if dale:
                raise SpecError(f"hidden[{k}]: expected an [n_exc, n_inh] pair under Dale's law; got {layer!r}. "
                                f"Write each layer as a pair, e.g. [[60, 20]] for one layer of 60 E + 20 I "
                                f"(a bare int would be a purely excitatory layer).")
            layer = (layer, 0)
        if not (isinstance(layer, (list, tuple)) and len(layer) == 2 and all(_is_int(v) and v >= 0 for v in layer)
                and sum(layer) > 0):
            raise SpecError(f"hidden[{k}]: expected [n_exc, n_inh], non-negative ints with n_exc + n_inh >= 1; "
                            f"got {list(layer) if isinstance(layer, tuple) else layer!r}.")
        if not dale and layer[1] != 0:
            raise SpecError(f"hidden[{k}]: expected n_inh == 0 when dale is false; got {list(layer)}. "
                            "Set dale to true, or give the layer as [n, 0].")
        out.append((int(layer[0]), int(layer[1])))
    return tuple(out)


def _check_pos_int(name, value):
    """``value`` as an int: an integer (numpy integers too) >= 0, not a bool, float or string."""
    if not _is_int(value) or value < 0:
        raise SpecError(f"{name}: expected a non-negative int; got {value!r} ({type(value).__name__}).")
    return int(value)


def _check_real(name, value, what):
    """``value`` checked to be a finite positive real number: not a string, bool or None (no coercion)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SpecError(f"{name}: expected {what}; got {value!r} ({type(value).__name__}). "
                        "Give a number, not a string or a bool.")
    if not (math.isfinite(float(value)) and float(value) > 0):
        raise SpecError(f"{name}: expected {what}; got {value!r}.")


@dataclass(frozen=True)
class NetworkSpec:
    """Architecture and neuron parameters of a feedforward TTFS network.

    Parameters
    ----------
    n_inputs : int
        Number of input units.
    hidden : tuple of (n_exc, n_inh)
        One pair per hidden layer. With ``dale=False`` ``n_inh`` must be 0 and the units are of
        cell type ``"hidden"``.
    n_outputs : int
        Number of output units (one per class).
    tau_syn_ms, tau_mem_ms : float
        Synaptic and membrane time constants (ms); ``tau_mem_ms / tau_syn_ms`` must be 1 or 2.
    threshold : float
        Firing threshold of V (dimensionless, weights are in the same unit).
    dale : bool
        Whether hidden units obey Dale's law.
    delays : str or tuple of str, optional
        Per weight matrix (hidden layers + output) one of :data:`DELAY_KINDS`; one string applies to
        every matrix. None (default) or all ``"none"``: no delays (stored as None).
    delay_max_ms : float or tuple of float, optional
        Per weight matrix the bound ``d_max`` of its delays (ms, > 0); one float applies to every
        matrix. Only with delays; None = ``tau_syn_ms`` (DelGrad's Yin-Yang choice).
    """

    n_inputs: int
    hidden: tuple = ((300, 100), (300, 100), (300, 100), (300, 100))
    n_outputs: int = 10
    tau_syn_ms: float = 5.0
    tau_mem_ms: float = 10.0
    threshold: float = 1.0
    dale: bool = True
    extra: dict = field(default_factory=dict, compare=False)
    delays: tuple = None
    delay_max_ms: tuple = None

    def __post_init__(self):
        if not isinstance(self.dale, bool):
            raise SpecError(f"dale: expected True or False; got {self.dale!r}.")
        hidden = check_hidden(self.hidden, self.dale)
        object.__setattr__(self, "hidden", hidden)
        object.__setattr__(self, "n_inputs", _check_pos_int("n_inputs", self.n_inputs))
        object.__setattr__(self, "n_outputs", _check_pos_int("n_outputs", self.n_outputs))
        if self.n_inputs == 0 or self.n_outputs == 0:
            raise SpecError(f"n_inputs/n_outputs: expected >= 1; got {self.n_inputs}/{self.n_outputs}.")
        check_tau(self.tau_syn_ms, self.tau_mem_ms)
        _check_real("threshold", self.threshold, "a positive finite number")
        for name in ("tau_syn_ms", "tau_mem_ms", "threshold"):  # numpy scalars become floats (JSON, equality)
            if type(getattr(self, name)) not in (int, float):
                object.__setattr__(self, name, float(getattr(self, name)))
        self._check_delays()

    def _check_delays(self):
        """Normalise ``delays`` / ``delay_max_ms`` to tuples of one entry per weight matrix (or None, None)."""
        n, kinds, dmax = self.n_layers, self.delays, self.delay_max_ms
        if kinds is not None:
            if isinstance(kinds, str):
                kinds = (kinds,) * n
            if not isinstance(kinds, (list, tuple)) or len(kinds) != n or not all(
                    isinstance(k, str) and k in DELAY_KINDS for k in kinds):
                raise SpecError(f"delays: expected None, one of {list(DELAY_KINDS)} or a list of {n} of them (one per "
                                f"weight matrix: hidden layers + output); got {kinds!r}.")
            kinds = tuple(kinds)
            if all(k == "none" for k in kinds):
                kinds = None
        if kinds is None:
            if dmax is not None:
                raise SpecError(f"delay_max_ms: expected None without delays (delays is None or all 'none'); got "
                                f"{dmax!r}. Set delays too, or drop delay_max_ms.")
            object.__setattr__(self, "delays", None)
            return
        if dmax is None:
            dmax = float(self.tau_syn_ms)
        if isinstance(dmax, numbers.Real) and not isinstance(dmax, bool):
            dmax = (dmax,) * n
        if not isinstance(dmax, (list, tuple)) or len(dmax) != n:
            raise SpecError(f"delay_max_ms: expected a positive number or a list of {n} (one per weight matrix); "
                            f"got {dmax!r}.")
        for v in dmax:
            _check_real("delay_max_ms", v, "positive finite bounds in ms")
        object.__setattr__(self, "delays", kinds)
        object.__setattr__(self, "delay_max_ms", tuple(float(v) for v in dmax))

    @property
    def has_delays(self):
        """Whether any weight matrix has transmission delays."""
        return self.delays is not None

    def delay_kind(self, layer):
        """The delay kind of weight matrix ``layer`` (0-based): one of :data:`DELAY_KINDS`."""
        if not 0 <= layer < self.n_layers:
            raise SpecError(f"layer: expected 0 <= layer < {self.n_layers}; got {layer}.")
        return "none" if self.delays is None else self.delays[layer]

    # ----------------------------------------------------------------- structure
    @property
    def layer_sizes(self):
        """Sizes of all layers including input and output."""
        return [self.n_inputs] + [sum(h) for h in self.hidden] + [self.n_outputs]

    @property
    def n_layers(self):
        """Number of weight matrices (hidden layers + output layer)."""
        return len(self.hidden) + 1

    def populations(self):
        """All populations, layer by layer, in unit order."""
        pops = [Population("input", 0, "input", 0, self.n_inputs)]
        for k, (ne, ni) in enumerate(self.hidden, start=1):
            if self.dale:
                pops.append(Population(f"hidden{k}_E", k, "E", 0, ne))
                if ni:
                    pops.append(Population(f"hidden{k}_I", k, "I", ne, ne + ni))
            else:
                pops.append(Population(f"hidden{k}", k, "hidden", 0, ne))
        pops.append(Population("output", len(self.hidden) + 1, "output", 0, self.n_outputs))
        return pops

    def presyn_signs(self, layer):
        """Sign constraint of each presynaptic unit of weight matrix ``layer`` (0-based).

        Returns a list of +1 (excitatory), -1 (inhibitory) or 0 (unconstrained), one per row.
        """
        if not 0 <= layer < self.n_layers:
            raise SpecError(f"layer: expected 0 <= layer < {self.n_layers}; got {layer}.")
        if layer == 0 or not self.dale:
            return [0] * self.layer_sizes[layer]
        ne, ni = self.hidden[layer - 1]
        return [1] * ne + [-1] * ni

    # ----------------------------------------------------------------- JSON
    def to_dict(self):
        d = asdict(self)
        d["hidden"] = [list(h) for h in self.hidden]
        if self.delays is None:  # a spec without delays keeps the JSON it had before delays existed
            del d["delays"], d["delay_max_ms"]
        else:
            d["delays"], d["delay_max_ms"] = list(self.delays), list(self.delay_max_ms)
        return d

    def to_json(self, **kwargs):
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, d):
        if not isinstance(d, dict):
            raise SpecError(f"spec: expected a dict; got {type(d).__name__}.")
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(d) - known
        if unknown:
            raise SpecError(f"spec: unknown keys {sorted(unknown)}; expected a subset of {sorted(known)}.")
        d = dict(d)
        d["hidden"] = tuple(tuple(h) for h in d.get("hidden", ()))
        return cls(**d)

    @classmethod
    def from_json(cls, text):
        return cls.from_dict(json.loads(text))


def check_tau(tau_syn_ms, tau_mem_ms):
    """Validate time constants and return the ratio tau_mem / tau_syn (1.0 or 2.0).

    Both must be real numbers (a string such as ``"5"`` or a bool is refused, not converted), finite and > 0.
    """
    for name, v in (("tau_syn_ms", tau_syn_ms), ("tau_mem_ms", tau_mem_ms)):
        _check_real(name, v, "a positive finite number (ms)")
    ratio = float(tau_mem_ms) / float(tau_syn_ms)
    for r in SUPPORTED_TAU_RATIOS:
        if abs(ratio - r) <= 1e-12 * r:
            return r
    raise SpecError(
        f"tau_mem_ms / tau_syn_ms: expected 1 (Lambert W case) or 2 (quadratic case); got "
        f"{tau_mem_ms} / {tau_syn_ms} = {ratio:g}. Only these ratios have a closed-form spike time."
    )
