"""Layers on both engines: ``Neuron``, ``Dense``, ``MLP``, ``Maxout``, ``PReLU``, ``Sequential``.

On the tensor engine (default) parameters are Tensors and a layer takes a batch whose rows
are samples. On the scalar engine parameters are Values (a weight matrix is a list of
rows, one row per neuron) and a layer takes one sample: a list of numbers or Values. Both
hold the same arrays under the same names, so a state dict moves between engines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from ..ops import activations
from ..scalar import Value
from ..tensor import Tensor, where
from .module import Module

__all__ = ["MLP", "Dense", "Maxout", "Neuron", "PReLU", "Sequential"]

Engine = Literal["tensor", "scalar"]
ENGINES = ("tensor", "scalar")
Seed = int | np.random.Generator | None
ActivationLike = str | activations.Activation | None


def _engine(engine: str) -> str:
    if engine not in ENGINES:
        raise ValueError(f"engine must be 'tensor' or 'scalar', got {engine!r}")
    return engine


def _activation_name(activation: ActivationLike) -> str:
    """A registry name from a name, a registered activation, or None (linear)."""
    if activation is None:
        return "identity"
    if isinstance(activation, activations.Activation):
        activation = activation.name
    if not isinstance(activation, str):
        raise TypeError(
            f"activation must be a registered name or activation, got {type(activation).__name__}"
        )
    return activations.get(activation).name  # raises, listing the names, if unknown


def _rng(seed: Seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _init_weights(shape: tuple[int, ...], fan_in: int, fan_out: int, activation: str,
                  rng: np.random.Generator) -> np.ndarray:
    """He normal for the ReLU family, Glorot uniform otherwise (the registry says which)."""
    if activations.get(activation).init == "he":
        return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def _parameter(array: np.ndarray, engine: str, dtype: Any) -> Any:
    """A learnable array on ``engine``: a Tensor, or nested lists of Values."""
    if engine == "tensor":
        return Tensor(np.asarray(array, dtype=dtype), requires_grad=True)
    if array.ndim == 0:
        return Value(float(array))
    return [_parameter(row, engine, dtype) for row in array]


def _activation_params(name: str, params: Mapping[str, float] | None) -> dict[str, float]:
    """The parameters given for activation ``name``, checked; defaults are left out, so
    the common case calls the activation with no arguments (its fastest path)."""
    activation = activations.get(name)
    full = activation.bind((), dict(params or {}))
    return {k: v for k, v in full.items() if v != activation.defaults[k]}


def _activate(x: Any, activation: str, params: Mapping[str, float]) -> Any:
    return x if activation == "identity" else getattr(x, activation)(**params)


def _activation_repr(layer: Any) -> str:
    params = "".join(f", {k}={v:g}" for k, v in layer.activation_params.items())
    return f"activation={layer.activation!r}{params}"


def _check_sample(x: Any, nin: int, layer: str) -> list[Any]:
    if isinstance(x, Tensor):
        raise TypeError(f"{layer} is on the scalar engine: call it with one sample (a list of "
                        "numbers or Values), not a Tensor")
    x = list(x)
    if len(x) != nin:
        raise ValueError(f"{layer}: expected {nin} inputs, got {len(x)}")
    return x


def _check_batch(x: Any, nin: int, layer: str, dtype: np.dtype) -> Tensor:
    # Data that needs no gradient is computed in the layer's dtype: float64 NumPy data fed
    # to a float32 model would otherwise promote every op to float64. An input that
    # requires grad is left alone (NumPy promotion applies), so no gradient is cast.
    if not isinstance(x, Tensor):
        x = Tensor(x, dtype=dtype)
    elif x.dtype != dtype and not x.requires_grad:
        x = x.astype(dtype)
    if x.data.ndim != 2 or x.shape[1] != nin:
        raise ValueError(f"{layer}: expected a batch of shape (batch, {nin}), got {x.shape}")
    return x


class Neuron(Module):
    """activation(w . x + b): a dot product plus bias through a non-linearity.

    ``activation_params`` set the activation's parameters (``{"alpha": 0.1}`` for
    leaky_relu); the same holds for ``Dense`` and ``MLP``.
    """

    def __init__(self, nin: int, activation: ActivationLike = "relu", *, engine: Engine = "tensor",
                 seed: Seed = None, dtype: Any = np.float32,
                 activation_params: Mapping[str, float] | None = None) -> None:
        self.nin, self.engine = nin, _engine(engine)
        self.activation = _activation_name(activation)
        self.activation_params = _activation_params(self.activation, activation_params)
        w = _init_weights((nin,), nin, 1, self.activation, _rng(seed))
        self.weight = _parameter(w, engine, dtype)
        self.bias = _parameter(np.zeros(()), engine, dtype)

    def forward(self, x: Any) -> Any:
        if self.engine == "scalar":
            x = _check_sample(x, self.nin, "Neuron")
            z = Value.dot(self.weight, x, self.bias)
        else:
            z = _check_batch(x, self.nin, "Neuron", self.weight.dtype) @ self.weight + self.bias
        return _activate(z, self.activation, self.activation_params)

    def extra_repr(self) -> str:
        return f"{self.nin}, {_activation_repr(self)}, engine={self.engine!r}"


class Dense(Module):
    """activation(x @ W.T + b): a layer of neurons, one per row of ``weight``."""

    def __init__(self, nin: int, nout: int, activation: ActivationLike = "relu", *,
                 engine: Engine = "tensor", seed: Seed = None, dtype: Any = np.float32,
                 activation_params: Mapping[str, float] | None = None) -> None:
        self.nin, self.nout, self.engine = nin, nout, _engine(engine)
        self.activation = _activation_name(activation)
        self.activation_params = _activation_params(self.activation, activation_params)
        w = _init_weights((nout, nin), nin, nout, self.activation, _rng(seed))
        self.weight = _parameter(w, engine, dtype)
        self.bias = _parameter(np.zeros(nout), engine, dtype)

    def pre_activation(self, x: Any) -> Any:
        """w . x + b for every neuron: a (batch, nout) Tensor, or a list of Values."""
        if self.engine == "scalar":
            x = _check_sample(x, self.nin, "Dense")
            return [Value.dot(row, x, b) for row, b in zip(self.weight, self.bias)]
        x = _check_batch(x, self.nin, "Dense", self.weight.dtype)
        return x @ self.weight.T + self.bias

    def forward(self, x: Any) -> Any:
        z = self.pre_activation(x)
        if self.engine == "scalar":
            return [_activate(v, self.activation, self.activation_params) for v in z]
        return _activate(z, self.activation, self.activation_params)

    def extra_repr(self) -> str:
        return f"{self.nin}, {self.nout}, {_activation_repr(self)}, engine={self.engine!r}"


class Maxout(Module):
    """max over ``pieces`` linear functions per unit: max_k (W_k x + b_k) (Goodfellow et al.).

    Piecewise linear like ReLU (ReLU is maxout with one piece fixed at 0) but never dies;
    the price is ``pieces`` times the parameters. Weight rows ``j * pieces + k`` hold
    piece k of unit j.
    """

    def __init__(self, nin: int, nout: int, pieces: int = 2, *, engine: Engine = "tensor",
                 seed: Seed = None, dtype: Any = np.float32) -> None:
        if pieces < 1:
            raise ValueError(f"Maxout needs at least one piece, got {pieces}")
        self.nin, self.nout, self.pieces, self.engine = nin, nout, pieces, _engine(engine)
        w = _init_weights((nout * pieces, nin), nin, nout, "relu", _rng(seed))
        self.weight = _parameter(w, engine, dtype)
        self.bias = _parameter(np.zeros(nout * pieces), engine, dtype)

    def forward(self, x: Any) -> Any:
        if self.engine == "scalar":
            x = _check_sample(x, self.nin, "Maxout")
            z = [Value.dot(row, x, b) for row, b in zip(self.weight, self.bias)]
            units = [z[j * self.pieces:(j + 1) * self.pieces] for j in range(self.nout)]
            out = []
            for pieces in units:
                best = pieces[0]
                for piece in pieces[1:]:
                    best = best.max(piece)
                out.append(best)
            return out
        x = _check_batch(x, self.nin, "Maxout", self.weight.dtype)
        z = x @ self.weight.T + self.bias
        return z.reshape(x.shape[0], self.nout, self.pieces).max(axis=-1)

    def extra_repr(self) -> str:
        return f"{self.nin}, {self.nout}, pieces={self.pieces}, engine={self.engine!r}"


class PReLU(Module):
    """x if x > 0 else a * x, with the slope ``a`` learned (He et al., 2015).

    ``num_parameters=1`` shares one slope across units; ``num_parameters=n`` learns one per
    unit (the last axis of a batch, or the position in a scalar sample).
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, *,
                 engine: Engine = "tensor", dtype: Any = np.float32) -> None:
        self.num_slopes, self.engine = num_parameters, _engine(engine)
        self.slope = _parameter(np.full(num_parameters, init), engine, dtype)

    def forward(self, x: Any) -> Any:
        if self.engine == "scalar":
            x = list(x)
            if self.num_slopes not in (1, len(x)):
                raise ValueError(f"PReLU has {self.num_slopes} slopes for {len(x)} inputs")
            slopes = self.slope * len(x) if self.num_slopes == 1 else self.slope
            return [xi if _data(xi) > 0 else a * xi for xi, a in zip(x, slopes)]
        x = x if isinstance(x, Tensor) else Tensor(x)
        if self.num_slopes not in (1, x.shape[-1]):
            raise ValueError(f"PReLU has {self.num_slopes} slopes for {x.shape[-1]} units "
                             f"(input shape {x.shape})")
        return where(x > 0, x, self.slope * x)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_slopes}, engine={self.engine!r}"


def _data(x: Any) -> float:
    return x.data if isinstance(x, Value) else float(x)


class Sequential(Module):
    """Layers applied one after another."""

    def __init__(self, *layers: Module) -> None:
        for layer in layers:
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential takes Modules, got {type(layer).__name__}")
        self.layers = list(layers)

    def forward(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)


class MLP(Sequential):
    """Dense layers of sizes ``nouts`` with ``activation`` between them; the last is linear.

    On the scalar engine a call takes one sample and returns a Value when the last layer
    has one output (a score), else a list of Values; on the tensor engine it takes a batch
    and returns a (batch, nouts[-1]) Tensor, computed in the parameters' dtype.
    """

    def __init__(self, nin: int, nouts: Sequence[int], activation: ActivationLike = "relu", *,
                 engine: Engine = "tensor", seed: Seed = None, dtype: Any = np.float32,
                 activation_params: Mapping[str, float] | None = None) -> None:
        if not nouts:
            raise ValueError("MLP needs at least one layer size")
        rng = _rng(seed)
        sizes = [nin, *nouts]
        last = len(nouts) - 1
        super().__init__(*(
            Dense(sizes[i], sizes[i + 1], activation if i < last else None, engine=engine,
                  seed=rng, dtype=dtype, activation_params=activation_params if i < last else None)
            for i in range(len(nouts))
        ))
        self.engine = engine

    def forward(self, x: Any) -> Any:
        out = super().forward(x)
        if self.engine == "scalar" and len(out) == 1:
            return out[0]
        return out
