"""Layers: the classic vocabulary on both engines, and PyTorch's layers on the tensor engine.

On the tensor engine (default) parameters are Tensors and a layer takes a batch whose rows
are samples. On the scalar engine parameters are Values (a weight matrix is a list of
rows, one row per neuron) and a layer takes one sample: a list of numbers or Values. Both
hold the same arrays under the same names, so a state dict moves between engines.

- Both engines: ``Neuron``, ``Dense``, ``Linear``, ``MLP``, ``Maxout``, ``PReLU``,
  ``Activation``, ``Dropout``, ``Identity``, ``Sequential``.
- Tensor engine: ``LayerNorm``, ``BatchNorm1d``, ``Embedding``, ``Flatten``.

A layer applies a non-linearity only when given one: ``Dense(nin, nout)`` is linear
(``activation=None``), so class scores are never squashed by accident; ``MLP`` puts its
``activation`` (ReLU by default) between layers and keeps the last one linear. The layers
are built from registered Tensor ops, so every gradient comes from the op registry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from ..ops import activations
from ..scalar import Value
from ..tensor import Tensor, where
from ..tensor.tensor import bump_version
from . import functional as F
from .module import Module

__all__ = [
    "MLP",
    "Activation",
    "BatchNorm1d",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "Identity",
    "LayerNorm",
    "Linear",
    "Maxout",
    "Neuron",
    "PReLU",
    "Sequential",
]

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


def _as_batch(x: Any, dtype: np.dtype) -> Tensor:
    # Data that needs no gradient is computed in the layer's dtype: float64 NumPy data fed
    # to a float32 model would otherwise promote every op to float64. An input that
    # requires grad is left alone (NumPy promotion applies), so no gradient is cast.
    if not isinstance(x, Tensor):
        return Tensor(x, dtype=dtype)
    if x.dtype != dtype and not x.requires_grad:
        return x.astype(dtype)
    return x


def _check_batch(x: Any, nin: int, layer: str, dtype: np.dtype) -> Tensor:
    """A (batch, nin) Tensor in ``dtype``, or a ValueError naming the layer."""
    x = _as_batch(x, dtype)
    if x.ndim != 2 or x.shape[1] != nin:
        raise ValueError(f"{layer}: expected a batch of shape (batch, {nin}), got {x.shape}")
    return x


def _check_features(x: Any, nin: int, layer: str, dtype: np.dtype) -> Tensor:
    """A (..., nin) Tensor in ``dtype``: any leading axes, as PyTorch's Linear takes."""
    x = _as_batch(x, dtype)
    if x.ndim < 1 or x.shape[-1] != nin:
        raise ValueError(f"{layer}: expected inputs of shape (batch, {nin}) or (..., {nin}), "
                         f"got {x.shape}")
    return x


class Neuron(Module):
    """activation(w . x + b): a dot product plus bias, through ``activation`` if one is named.

    ``activation=None`` (the default) keeps the neuron linear. ``activation_params`` set the
    activation's parameters (``{"alpha": 0.1}`` for leaky_relu); the same holds for
    ``Dense`` and ``MLP``.
    """

    def __init__(self, nin: int, activation: ActivationLike = None, *, engine: Engine = "tensor",
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
    """activation(x @ W.T + b): a layer of neurons, one per row of ``weight``.

    On the tensor engine the input is a (batch, nin) array, or any (..., nin) array, and
    the output has shape (..., nout).

    Parameters
    ----------
    nin, nout : int
        Input and output features: ``weight`` has shape (nout, nin), ``bias`` (nout,).
    activation : str, registered activation or None
        Applied to the output; None (the default) leaves the layer linear, which is what
        the last layer of a classifier needs (its outputs are class scores).
    bias : bool
        Whether to learn a bias (default True).
    engine : {"tensor", "scalar"}
        Tensors and batches (default), or Values and one sample at a time.
    seed : int, numpy Generator or None
        Initialisation: He normal for the ReLU family, Glorot uniform otherwise.
    dtype : numpy dtype
        Of the parameters on the tensor engine (float32 by default); inputs that need no
        gradient are cast to it.
    """

    def __init__(self, nin: int, nout: int, activation: ActivationLike = None, *,
                 bias: bool = True, engine: Engine = "tensor", seed: Seed = None,
                 dtype: Any = np.float32,
                 activation_params: Mapping[str, float] | None = None) -> None:
        self.nin, self.nout, self.engine = nin, nout, _engine(engine)
        self.activation = _activation_name(activation)
        self.activation_params = _activation_params(self.activation, activation_params)
        weight, bias_array = self._initial_parameters(_rng(seed), bias)
        self.weight = _parameter(weight, engine, dtype)
        self.bias = None if bias_array is None else _parameter(bias_array, engine, dtype)

    def _initial_parameters(self, rng: np.random.Generator, bias: bool
                            ) -> tuple[np.ndarray, np.ndarray | None]:
        weight = _init_weights((self.nout, self.nin), self.nin, self.nout, self.activation, rng)
        return weight, np.zeros(self.nout) if bias else None

    def pre_activation(self, x: Any) -> Any:
        """w . x + b for every neuron: a (..., nout) Tensor, or a list of Values."""
        if self.engine == "scalar":
            x = _check_sample(x, self.nin, type(self).__name__)
            if self.bias is None:
                return [Value.dot(row, x) for row in self.weight]
            return [Value.dot(row, x, b) for row, b in zip(self.weight, self.bias)]
        x = _check_features(x, self.nin, type(self).__name__, self.weight.dtype)
        return F.linear(x, self.weight, self.bias)

    def forward(self, x: Any) -> Any:
        z = self.pre_activation(x)
        if self.engine == "scalar":
            return [_activate(v, self.activation, self.activation_params) for v in z]
        return _activate(z, self.activation, self.activation_params)

    def extra_repr(self) -> str:
        no_bias = ", bias=False" if self.bias is None else ""
        return f"{self.nin}, {self.nout}, {_activation_repr(self)}{no_bias}, engine={self.engine!r}"


class Linear(Dense):
    """x @ W.T + b, with PyTorch's name, arguments and initialisation.

    A ``Dense`` layer with no activation, so it also works on the scalar engine.

    Input (..., nin); output (..., nout), in the parameters' dtype.

    Parameters
    ----------
    nin, nout : int
        Input and output features: ``weight`` has shape (nout, nin), ``bias`` (nout,);
        both start uniform in +-1/sqrt(nin), as in ``torch.nn.Linear``.
    bias : bool
        Whether to learn a bias (default True).
    engine : {"tensor", "scalar"}
        As for ``Dense``.
    seed : int, numpy Generator or None
        For the initial values.
    dtype : numpy dtype
        Of the parameters (float32 by default).
    """

    def __init__(self, nin: int, nout: int, bias: bool = True, *, engine: Engine = "tensor",
                 seed: Seed = None, dtype: Any = np.float32) -> None:
        super().__init__(nin, nout, None, bias=bias, engine=engine, seed=seed, dtype=dtype)

    def _initial_parameters(self, rng: np.random.Generator, bias: bool
                            ) -> tuple[np.ndarray, np.ndarray | None]:
        bound = 1.0 / np.sqrt(self.nin) if self.nin else 0.0
        weight = rng.uniform(-bound, bound, size=(self.nout, self.nin))
        return weight, rng.uniform(-bound, bound, size=self.nout) if bias else None

    def extra_repr(self) -> str:
        engine = ", engine='scalar'" if self.engine == "scalar" else ""
        return f"{self.nin}, {self.nout}, bias={self.bias is not None}{engine}"


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
        lines = F.linear(x, self.weight, self.bias)  # one node, as in Dense
        return lines.reshape(x.shape[0], self.nout, self.pieces).max(axis=-1)

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

    ``dropout=p`` adds a ``Dropout(p)`` after every hidden activation. On the scalar engine
    a call takes one sample and returns a Value when the last layer has one output (a
    score), else a list of Values; on the tensor engine it takes a batch and returns a
    (batch, nouts[-1]) Tensor, computed in the parameters' dtype.
    """

    def __init__(self, nin: int, nouts: Sequence[int], activation: ActivationLike = "relu", *,
                 dropout: float = 0.0, engine: Engine = "tensor", seed: Seed = None,
                 dtype: Any = np.float32,
                 activation_params: Mapping[str, float] | None = None) -> None:
        if not nouts:
            raise ValueError("MLP needs at least one layer size")
        rng = _rng(seed)
        sizes = [nin, *nouts]
        layers: list[Module] = []
        for i in range(len(nouts)):
            hidden = i < len(nouts) - 1
            layers.append(Dense(sizes[i], sizes[i + 1], activation if hidden else None,
                                engine=engine, seed=rng, dtype=dtype,
                                activation_params=activation_params if hidden else None))
            if hidden and dropout:
                layers.append(Dropout(dropout, seed=rng))
        super().__init__(*layers)
        self.engine = engine

    def forward(self, x: Any) -> Any:
        out = super().forward(x)
        if self.engine == "scalar" and len(out) == 1:
            return out[0]
        return out


# ----- Layers without parameters (both engines) ------------------------------------------


def _is_sample(x: Any) -> bool:
    """A scalar-engine sample: a list (or tuple) of Values and numbers, not an array."""
    return isinstance(x, (list, tuple)) and not (x and isinstance(x[0], (list, tuple)))


def _elementwise(x: Any, fn: Any) -> Any:
    """``fn`` on a Value, on each item of a scalar-engine sample, or on a Tensor (arrays
    and nested lists become one)."""
    if isinstance(x, Value):
        return fn(x)
    if _is_sample(x):
        return [fn(v if isinstance(v, Value) else Value(float(v))) for v in x]
    return fn(x if isinstance(x, Tensor) else Tensor(x))


class Identity(Module):
    """Returns its input unchanged (a placeholder, as ``torch.nn.Identity``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass  # like PyTorch's, it accepts and ignores any arguments

    def forward(self, x: Any) -> Any:
        return x


class Activation(Module):
    """A registered activation as a layer: ``Activation("leaky_relu", alpha=0.1)``.

    Any name in ``activations.names()``, including activations registered later; keyword
    arguments are the activation's parameters. Elementwise, so any shape on the tensor
    engine, and a Value or a list of Values on the scalar engine.
    """

    def __init__(self, name: str | activations.Activation, **params: float) -> None:
        self.activation = _activation_name(name)
        self.activation_params = _activation_params(self.activation, params)

    def forward(self, x: Any) -> Any:
        return _elementwise(x, lambda v: _activate(v, self.activation, self.activation_params))

    def extra_repr(self) -> str:
        return repr(self.activation) + "".join(
            f", {k}={v:g}" for k, v in self.activation_params.items())


class Dropout(Module):
    """Inverted dropout: in training mode each input is zeroed with probability ``p`` and
    the survivors scaled by 1 / (1 - p); in evaluation mode (``eval()``) the input passes
    unchanged, so no rescaling is needed at test time.

    Any shape on the tensor engine (the output has the input's floating dtype); a list of
    Values on the scalar engine.

    Parameters
    ----------
    p : float
        The probability of zeroing an input, in [0, 1] (default 0.5).
    seed : int, numpy Generator or None
        Where the masks are drawn from: the same seed gives the same masks.
    """

    def __init__(self, p: float = 0.5, *, seed: Seed = None) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p is a probability in [0, 1], got {p}")
        self.p = float(p)
        self._rng = _rng(seed)

    def forward(self, x: Any) -> Any:
        if not self.training or self.p == 0.0:
            return x
        # NOTE: p = 1 drops everything; the scale is then 0 rather than 1/0.
        scale = 1.0 / (1.0 - self.p) if self.p < 1.0 else 0.0
        if _is_sample(x):
            keep_list = (self._rng.random(len(x)) >= self.p).tolist()
            return [v * scale if kept else v * 0.0 for v, kept in zip(x, keep_list)]
        x = x if isinstance(x, Tensor) else Tensor(x)
        mask = (self._rng.random(x.shape, dtype=np.float32) >= self.p).astype(
            x.dtype if x.dtype.kind == "f" else np.float32)
        mask *= scale
        return x * mask

    def extra_repr(self) -> str:
        return f"p={self.p:g}"


# ----- Layers of the tensor engine -----------------------------------------------------


def _tensor_input(x: Any, layer: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, list) and x and isinstance(x[0], Value):
        raise TypeError(f"{layer} works on the tensor engine: call it with a Tensor or an "
                        "array, not a list of Values")
    return Tensor(x)


class Flatten(Module):
    """Axes ``start_dim`` to ``end_dim`` merged into one: (batch, 1, 8, 8) -> (batch, 64)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Any) -> Tensor:
        x = _tensor_input(x, "Flatten")
        ndim = max(x.ndim, 1)
        start, end = self.start_dim % ndim, self.end_dim % ndim
        if start > end:
            raise ValueError(f"Flatten: start_dim {self.start_dim} comes after end_dim "
                             f"{self.end_dim} for an input of shape {x.shape}")
        shape = x.shape
        return x.reshape(*shape[:start], -1, *shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


def _moments(x: Tensor, axes: tuple[int, ...]) -> tuple[Tensor, Tensor, Tensor]:
    """The mean over ``axes``, x minus it, and the biased variance (reduced axes kept)."""
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    return mean, centred, (centred * centred).mean(axis=axes, keepdims=True)


class LayerNorm(Module):
    """Each sample normalised over its last axes, then scaled and shifted (Ba et al., 2016).

    y = (x - mean) / sqrt(var + eps) * weight + bias, with the mean and the biased variance
    taken over the last ``len(normalized_shape)`` axes of each sample.

    Input (..., *normalized_shape); output of the same shape.

    Parameters
    ----------
    normalized_shape : int or tuple of int
        The shape of the trailing axes to normalise over.
    eps : float
        Added to the variance, for stability.
    elementwise_affine : bool
        Learn ``weight`` (ones) and ``bias`` (zeros) of shape ``normalized_shape``.
    dtype : numpy dtype
        Of the parameters, and the dtype inputs that need no gradient are cast to.
    """

    weight: Tensor | None
    bias: Tensor | None

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, *, dtype: Any = np.float32) -> None:
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps = eps
        self._dtype = np.dtype(dtype)
        self.weight = self.bias = None
        if elementwise_affine:
            self.weight = Tensor(np.ones(self.normalized_shape, dtype), requires_grad=True)
            self.bias = Tensor(np.zeros(self.normalized_shape, dtype), requires_grad=True)

    def forward(self, x: Any) -> Tensor:
        x = _as_batch(_tensor_input(x, "LayerNorm"), self._dtype)
        k = len(self.normalized_shape)
        if x.ndim < k or x.shape[x.ndim - k:] != self.normalized_shape:
            raise ValueError(f"LayerNorm: expected inputs of shape (..., "
                             f"{', '.join(map(str, self.normalized_shape))}), got {x.shape}")
        _, centred, var = _moments(x, tuple(range(x.ndim - k, x.ndim)))
        out = centred / (var + self.eps).sqrt()
        if self.weight is not None:
            out = out * self.weight + self.bias
        return out

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps:g}, "
                f"elementwise_affine={self.weight is not None}")


def _per_feature(t: Tensor, ndim: int) -> Tensor:
    """A (C,) Tensor shaped to broadcast over a (batch, C) or (batch, C, length) input."""
    return t if ndim == 2 else t.reshape(1, t.shape[0], 1)


class BatchNorm1d(Module):
    """Each feature normalised over the batch, then scaled and shifted (Ioffe & Szegedy).

    In training mode the batch's mean and biased variance normalise, and the running
    statistics move towards the batch's (with the unbiased variance) by ``momentum``:
    running = (1 - momentum) * running + momentum * batch. In evaluation mode the running
    statistics normalise. PyTorch's arguments, defaults and semantics.

    Input (batch, C) or (batch, C, length); output of the same shape.

    Parameters
    ----------
    num_features : int
        C, the features (channels) of the input.
    eps : float
        Added to the variance, for stability.
    momentum : float or None
        How far the running statistics move per batch; None keeps a cumulative average.
    affine : bool
        Learn ``weight`` (ones) and ``bias`` (zeros), shape (C,).
    track_running_stats : bool
        Keep ``running_mean`` (C,), ``running_var`` (C,) and ``num_batches_tracked`` (an
        int64 count): buffers, saved in the state dict but not learned. Without them the
        batch's statistics normalise in evaluation mode too.
    dtype : numpy dtype
        Of the parameters and buffers (float32 by default).
    """

    weight: Tensor | None
    bias: Tensor | None
    running_mean: Tensor  # buffers, made by register_buffer
    running_var: Tensor
    num_batches_tracked: Tensor

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *,
                 dtype: Any = np.float32) -> None:
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = self.bias = None
        if affine:
            self.weight = Tensor(np.ones(num_features, dtype), requires_grad=True)
            self.bias = Tensor(np.zeros(num_features, dtype), requires_grad=True)
        self.track_running_stats = track_running_stats
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype))
            self.register_buffer("num_batches_tracked", np.zeros((), np.int64))
        self._dtype = np.dtype(dtype)

    def forward(self, x: Any) -> Tensor:
        x = _as_batch(_tensor_input(x, "BatchNorm1d"), self._dtype)
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d: expected inputs of shape (batch, "
                             f"{self.num_features}) or (batch, {self.num_features}, length), "
                             f"got {x.shape}")
        axes = (0,) if x.ndim == 2 else (0, 2)
        if self.training or not self.track_running_stats:
            count = x.size // self.num_features
            if self.training and count < 2:
                raise ValueError(f"BatchNorm1d: training needs more than one value per "
                                 f"feature, got an input of shape {x.shape}")
            mean, centred, var = _moments(x, axes)
            if self.training and self.track_running_stats:
                unbiased = var.data.ravel() * (count / (count - 1))
                self._update_running_stats(mean.data.ravel(), unbiased)
        else:
            centred = x - _per_feature(self.running_mean, x.ndim)
            var = _per_feature(self.running_var, x.ndim)
        out = centred / (var + self.eps).sqrt()
        weight, bias = self.weight, self.bias
        if weight is not None and bias is not None:
            out = out * _per_feature(weight, x.ndim) + _per_feature(bias, x.ndim)
        return out

    def _update_running_stats(self, mean: np.ndarray, unbiased_var: np.ndarray) -> None:
        # Versions are bumped before each write: a graph that saved the old statistics (an
        # evaluation-mode forward) must not backprop through the new ones.
        counter = self.num_batches_tracked
        bump_version(counter)
        counter._data += 1
        factor = 1.0 / int(counter._data) if self.momentum is None else self.momentum
        for buffer, batch in ((self.running_mean, mean), (self.running_var, unbiased_var)):
            bump_version(buffer)
            buffer._data *= 1.0 - factor
            buffer._data += factor * batch

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps:g}, momentum={self.momentum}, "
                f"affine={self.weight is not None}, "
                f"track_running_stats={self.track_running_stats}")


class Embedding(Module):
    """A lookup table: row i of ``weight`` for index i.

    Input: integers of any shape (a Tensor, an array or a list); output: shape
    (*input shape, embedding_dim). The gradient of a row is the sum over every position
    that picked it.

    Parameters
    ----------
    num_embeddings : int
        Rows of the table: indices run from 0 to num_embeddings - 1.
    embedding_dim : int
        Length of each row. ``weight`` has shape (num_embeddings, embedding_dim) and
        starts N(0, 1), as in PyTorch.
    seed : int, numpy Generator or None
        For the initial values.
    dtype : numpy dtype
        Of the table (float32 by default).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, *, seed: Seed = None,
                 dtype: Any = np.float32) -> None:
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        table = _rng(seed).standard_normal((num_embeddings, embedding_dim))
        self.weight = Tensor(np.asarray(table, dtype), requires_grad=True)

    def forward(self, indices: Any) -> Tensor:
        return F.embedding(indices, self.weight)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"
