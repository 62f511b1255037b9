"""Optimizers, sorted in order of increasing complexity: SGD, RMSprop, Adam, AdamW.

Each is PyTorch's update rule (``torch.optim``, default options), written on NumPy arrays
that it changes in place; ``scratch`` is reused memory, so a step allocates little.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Group, Optimizer

__all__ = ["SGD", "Adam", "AdamW", "RMSprop"]

Params = Iterable[Any]  # parameters (Tensors, Values), or dicts of parameter groups


def _with_weight_decay(param: np.ndarray, grad: np.ndarray, decay: float) -> np.ndarray:
    """grad + decay * param: L2 regularisation folded into the gradient (a new array)."""
    return grad + decay * param if decay else grad


def _buffer(state: dict[str, Any], name: str, param: np.ndarray) -> np.ndarray:
    """``state[name]``, made of zeros shaped like ``param`` the first time it is asked for."""
    buffer = state.get(name)
    if buffer is None:
        buffer = state[name] = np.zeros_like(param)
    return buffer


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum and weight decay.

    g = grad + weight_decay * p;  b = momentum * b + g (b = g at the first step);
    p -= lr * (g + momentum * b if nesterov else b); with momentum=0, simply p -= lr * g.

    Parameters
    ----------
    params : iterable of Tensor or Value, or of dicts
        The parameters (``model.parameters()``), or parameter groups: dicts with
        ``"params"`` and any hyperparameters below, which then override the defaults.
    lr : float
        Learning rate (default 1e-3, as in PyTorch).
    momentum : float
        Momentum factor (default 0: plain SGD).
    nesterov : bool
        Nesterov momentum (needs momentum > 0).
    weight_decay : float
        L2 penalty: ``weight_decay * p`` is added to the gradient.
    """

    def __init__(self, params: Params, lr: float = 1e-3, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "nesterov": nesterov,
                                  "weight_decay": weight_decay})

    def _check_group(self, group: Group) -> None:
        for name in ("lr", "momentum", "weight_decay"):
            self._check(group, name)
        if not isinstance(group["nesterov"], bool):
            raise ValueError(f"SGD: nesterov must be True or False, got {group['nesterov']!r}")
        if group["nesterov"] and group["momentum"] <= 0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: Group, scratch: np.ndarray) -> None:
        momentum, decay = group["momentum"], group["weight_decay"]
        if not momentum and not decay:  # plain SGD, the common case: p -= lr * g
            np.multiply(grad, group["lr"], out=scratch)
            param -= scratch
            return
        direction = _with_weight_decay(param, grad, decay)
        if momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:  # PyTorch starts the buffer at the first gradient
                buffer = state["momentum_buffer"] = direction.copy()
            else:
                buffer *= momentum
                buffer += direction
            direction = direction + momentum * buffer if group["nesterov"] else buffer
        np.multiply(direction, group["lr"], out=scratch)
        param -= scratch


class RMSprop(Optimizer):
    """RMSprop (Hinton): divide the gradient by a running root mean square of its history.

    s = alpha * s + (1 - alpha) * g^2;  with ``centered``, a = alpha * a + (1 - alpha) * g and
    s - a^2 replaces s;  p -= lr * g / (sqrt(s) + eps), through a momentum buffer
    b = momentum * b + g / (sqrt(s) + eps) when momentum > 0.

    Parameters
    ----------
    params : iterable of Tensor or Value, or of dicts
        Parameters or parameter groups, as for ``SGD``.
    lr : float
        Learning rate (default 1e-2).
    alpha : float
        Smoothing of the running mean of g^2, in [0, 1] (default 0.99).
    eps : float
        Added to the root mean square, for stability.
    weight_decay : float
        L2 penalty added to the gradient.
    momentum : float
        Momentum factor (default 0).
    centered : bool
        Divide by an estimate of the variance (s - a^2) instead of the second moment.
    """

    def __init__(self, params: Params, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False) -> None:
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps,
                                  "weight_decay": weight_decay, "momentum": momentum,
                                  "centered": centered})

    def _check_group(self, group: Group) -> None:
        for name in ("lr", "eps", "weight_decay", "momentum"):
            self._check(group, name)
        self._check(group, "alpha", 0.0, 1.0)
        if not isinstance(group["centered"], bool):
            raise ValueError(f"RMSprop: centered must be True or False, got "
                             f"{group['centered']!r}")

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: Group, scratch: np.ndarray) -> None:
        alpha, momentum = group["alpha"], group["momentum"]
        grad = _with_weight_decay(param, grad, group["weight_decay"])
        if "square_avg" not in state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param)
        state["step"] += 1
        square_avg = state["square_avg"]
        square_avg *= alpha
        np.multiply(grad, grad, out=scratch)
        scratch *= 1.0 - alpha
        square_avg += scratch
        if group["centered"]:
            grad_avg = _buffer(state, "grad_avg", param)
            grad_avg += (1.0 - alpha) * (grad - grad_avg)
            np.multiply(grad_avg, grad_avg, out=scratch)
            np.subtract(square_avg, scratch, out=scratch)
            np.sqrt(scratch, out=scratch)
        else:
            np.sqrt(square_avg, out=scratch)
        scratch += group["eps"]
        np.divide(grad, scratch, out=scratch)  # the step direction g / (sqrt(s) + eps)
        if momentum:
            buffer = _buffer(state, "momentum_buffer", param)
            buffer *= momentum
            buffer += scratch
            np.multiply(buffer, group["lr"], out=scratch)
        else:
            scratch *= group["lr"]
        param -= scratch


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; ``weight_decay`` is added to the gradient.

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  at step t,
    p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

    Parameters
    ----------
    params : iterable of Tensor or Value, or of dicts
        Parameters or parameter groups, as for ``SGD``.
    lr : float
        Learning rate (default 1e-3).
    betas : (float, float)
        Decay rates b1, b2 of the first and second moment estimates, each in [0, 1).
    eps : float
        Added to the denominator, for stability.
    weight_decay : float
        L2 penalty added to the gradient (see ``AdamW`` for the decoupled form).
    """

    def __init__(self, params: Params, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay})

    def _check_group(self, group: Group) -> None:
        for name in ("lr", "eps", "weight_decay"):
            self._check(group, name)
        betas = group["betas"]
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2 and all(
                isinstance(b, (int, float)) and 0.0 <= b < 1.0 for b in betas)):
            raise ValueError(f"{type(self).__name__}: betas must be two numbers in [0, 1), "
                             f"got {betas!r}")

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: Group, scratch: np.ndarray) -> None:
        self._adam(param, _with_weight_decay(param, grad, group["weight_decay"]), state,
                   group, scratch)

    @staticmethod
    def _adam(param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: Group,
              scratch: np.ndarray) -> None:
        beta1, beta2 = group["betas"]
        if "exp_avg" not in state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
        state["step"] += 1
        step, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        np.subtract(grad, m, out=scratch)  # m moves towards g by 1 - b1 (PyTorch's lerp)
        scratch *= 1.0 - beta1
        m += scratch
        v *= beta2
        np.multiply(grad, grad, out=scratch)
        scratch *= 1.0 - beta2
        v += scratch
        np.sqrt(v, out=scratch)
        scratch /= math.sqrt(1.0 - beta2**step)
        scratch += group["eps"]
        np.divide(m, scratch, out=scratch)
        scratch *= group["lr"] / (1.0 - beta1**step)
        param -= scratch


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): before the Adam step,
    p *= 1 - lr * weight_decay, instead of adding weight_decay * p to the gradient.

    Takes ``Adam``'s arguments; ``weight_decay`` defaults to 1e-2, as in PyTorch.
    """

    def __init__(self, params: Params, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: Group, scratch: np.ndarray) -> None:
        if group["weight_decay"]:
            param *= 1.0 - group["lr"] * group["weight_decay"]
        self._adam(param, grad, state, group, scratch)
