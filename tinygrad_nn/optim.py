"""Optimizers, sorted in order of increasing complexity: SGD (with momentum), Adam.

Update rules are PyTorch's, written once on NumPy arrays. Each Tensor parameter is one
array; all scalar ``Value`` parameters together form one vector, gathered before an update
and written back after it, so both engines share the same arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .scalar import Value

__all__ = ["SGD", "Adam", "Optimizer"]


class Optimizer:
    """Base class: holds the parameters, their per-slot state, and the step count."""

    def __init__(self, params: Iterable[Any], **hyper: float) -> None:
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        self.values: list[Value] = [p for p in params if isinstance(p, Value)]
        self.tensors: list[Any] = [p for p in params if not isinstance(p, Value)]
        for p in self.tensors:
            if not isinstance(getattr(p, "data", None), np.ndarray) or not getattr(
                p, "requires_grad", False
            ):
                raise TypeError(
                    f"{type(self).__name__}: parameters must be Values or Tensors with "
                    f"requires_grad=True, got {type(p).__name__}"
                )
        for name, value in hyper.items():
            if value < 0:
                raise ValueError(f"{type(self).__name__}: {name} must be >= 0, got {value}")
        self.hyper = hyper
        self.steps = 0
        # One dict of state arrays per slot: a slot per Tensor, then one for all Values.
        self.state: list[dict[str, np.ndarray]] = [{} for _ in range(self._num_slots())]

    def _num_slots(self) -> int:
        return len(self.tensors) + (1 if self.values else 0)

    def zero_grad(self) -> None:
        """Forget the gradients: ``None`` on Tensors (as in PyTorch), 0.0 on Values."""
        for p in self.tensors:
            p.grad = None
        for v in self.values:
            v.grad = 0.0

    def step(self) -> None:
        """Apply one update to every parameter that has a gradient."""
        self.steps += 1
        for slot, p in enumerate(self.tensors):
            if p.grad is not None:
                self._update(p.data, np.asarray(p.grad, dtype=p.data.dtype), self.state[slot])
        if self.values:
            data = np.fromiter((v.data for v in self.values), np.float64, len(self.values))
            grad = np.fromiter((v.grad for v in self.values), np.float64, len(self.values))
            self._update(data, grad, self.state[-1])
            for v, x in zip(self.values, data.tolist()):
                v.data = x

    def _update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        """Update ``data`` in place from ``grad``; ``state`` persists across steps."""
        raise NotImplementedError

    # ----- Resuming ----------------------------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """Step count, hyperparameters and per-slot state as flat arrays (``save`` takes it)."""
        out = {"steps": np.asarray(self.steps)}
        out.update({f"hyper.{k}": np.asarray(v, dtype=np.float64) for k, v in self.hyper.items()})
        for slot, state in enumerate(self.state):
            out.update({f"state.{slot}.{k}": v.copy() for k, v in state.items()})
        return out

    def load_state_dict(self, state_dict: dict[str, np.ndarray]) -> None:
        """Resume from ``state_dict()``; raises (changing nothing) if it does not fit."""
        states: list[dict[str, np.ndarray]] = [{} for _ in self.state]
        hyper = dict(self.hyper)
        steps = None
        for key, array in state_dict.items():
            kind, _, rest = key.partition(".")
            if key == "steps":
                steps = int(array)
            elif kind == "hyper" and rest in hyper:
                hyper[rest] = float(array)
            elif kind == "state" and rest.count(".") == 1:
                slot_text, name = rest.split(".")
                slot = int(slot_text)
                if not 0 <= slot < len(states) or array.shape != self._slot_shape(slot):
                    raise ValueError(f"{type(self).__name__}.load_state_dict: {key!r} with "
                                     f"shape {array.shape} does not fit these parameters")
                states[slot][name] = np.array(array, dtype=self._slot_dtype(slot))
            else:
                raise ValueError(f"{type(self).__name__}.load_state_dict: unexpected key {key!r}")
        if steps is None:
            raise ValueError(f"{type(self).__name__}.load_state_dict: missing key 'steps'")
        self.steps, self.hyper, self.state = steps, hyper, states

    def _slot_shape(self, slot: int) -> tuple[int, ...]:
        return self.tensors[slot].data.shape if slot < len(self.tensors) else (len(self.values),)

    def _slot_dtype(self, slot: int) -> np.dtype:
        return self.tensors[slot].data.dtype if slot < len(self.tensors) else np.dtype(np.float64)

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v:g}" for k, v in self.hyper.items())
        return f"{type(self).__name__}({self._num_slots()} parameter arrays, {hyper})"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum and weight decay.

    g = grad + weight_decay * p;  b = momentum * b + g;  p -= lr * (g + momentum * b if
    nesterov else b); with momentum=0, simply p -= lr * g.
    """

    def __init__(self, params: Iterable[Any], lr: float, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        if nesterov and momentum <= 0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0")
        self.nesterov = nesterov
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay)

    def _update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        lr, momentum, decay = self.hyper["lr"], self.hyper["momentum"], self.hyper["weight_decay"]
        if decay:
            grad = grad + decay * data
        if momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:  # PyTorch starts the buffer at the first gradient
                buffer = state["momentum_buffer"] = grad.copy()
            else:
                buffer *= momentum
                buffer += grad
            grad = grad + momentum * buffer if self.nesterov else buffer
        data -= lr * grad


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; ``weight_decay`` is added to the gradient.

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        beta1, beta2 = betas
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"Adam: betas must be in [0, 1), got {betas}")
        super().__init__(params, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                         weight_decay=weight_decay)

    def _update(self, data: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray]) -> None:
        h = self.hyper
        if h["weight_decay"]:
            grad = grad + h["weight_decay"] * data
        if "exp_avg" not in state:
            state["exp_avg"] = np.zeros_like(data)
            state["exp_avg_sq"] = np.zeros_like(data)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= h["beta1"]
        m += (1 - h["beta1"]) * grad
        v *= h["beta2"]
        v += (1 - h["beta2"]) * grad * grad
        m_hat = m / (1 - h["beta1"] ** self.steps)
        v_hat = v / (1 - h["beta2"] ** self.steps)
        data -= h["lr"] * m_hat / (np.sqrt(v_hat) + h["eps"])
