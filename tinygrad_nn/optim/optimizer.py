"""``Optimizer``: parameter groups, per-parameter state, and resuming from a state dict.

As in PyTorch, ``optimizer.param_groups`` is a list of dicts, each with its ``"params"``
and its hyperparameters; a step reads every group's current values, so
``optimizer.param_groups[0]["lr"] = 0.01`` (or a scheduler) takes effect at the next step.
The hyperparameters live there only: assigning ``optimizer.lr`` raises instead of being
silently ignored.

Update rules are written once, on NumPy arrays, and change them in place. Each Tensor
parameter is one array; the ``Value`` parameters of a group are gathered into one vector
before an update and written back after it, so both engines share the same arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..scalar import Value
from ..tensor import Tensor
from ..tensor.tensor import bump_version

__all__ = ["Optimizer", "StateKey"]

Group = dict[str, Any]
StateKey = Any  # a Tensor parameter, or ("values", group index) for a group's Values


def _describe(p: Any) -> str:
    return f"Tensor of shape {p.shape}" if isinstance(p, Tensor) else type(p).__name__


class Optimizer:
    """Base class: parameter groups, their state, ``step``, ``zero_grad`` and state dicts.

    Subclasses pass their hyperparameters' defaults, check a group in ``_check_group`` and
    update one array in ``_update``.

    Attributes
    ----------
    param_groups : list of dict
        ``{"params": [...], "lr": ..., ...}`` per group; edit the values to change them.
    state : dict
        Per-parameter state arrays (momentum buffers, moment estimates, ``step`` counts),
        under the Tensor parameter, or under ``("values", i)`` for the Values of group i.
    defaults : dict
        The hyperparameters a group gets when it does not set them.
    """

    _ATTRIBUTES = frozenset({"defaults", "param_groups", "state", "_scratch"})

    def __init__(self, params: Iterable[Any], defaults: Mapping[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.param_groups: list[Group] = []
        self.state: dict[StateKey, dict[str, Any]] = {}
        self._scratch: dict[StateKey, np.ndarray] = {}  # reused working memory, not state
        given = list(params) if not isinstance(params, (Tensor, Value)) else [params]
        if not given:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        groups: list[Any] = given if all(isinstance(g, dict) for g in given) \
            else [{"params": given}]
        for group in groups:
            self.add_param_group(group)

    # ----- Attributes: hyperparameters live in the groups --------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._ATTRIBUTES:
            raise AttributeError(self._no_attribute(name))
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:  # called only when the lookup failed
        raise AttributeError(self._no_attribute(name))

    def _no_attribute(self, name: str) -> str:
        kind = type(self).__name__
        if name in vars(self).get("defaults", {}):
            return (f"{kind} has no attribute {name!r}: hyperparameters are set per group, "
                    f"e.g. optimizer.param_groups[0][{name!r}] = ... (or by a scheduler "
                    f"from optim.lr_scheduler)")
        return f"{kind} has no attribute {name!r}"

    # ----- Groups --------------------------------------------------------------------------

    def add_param_group(self, group: Mapping[str, Any]) -> None:
        """Add a group: ``{"params": [...], **hyperparameters}``; missing ones take the
        defaults. A parameter already in this optimizer is refused."""
        kind = type(self).__name__
        if "params" not in group:
            raise ValueError(f"{kind}: a parameter group needs a 'params' entry")
        params = group["params"]
        params = [params] if isinstance(params, (Tensor, Value)) else list(params)
        if not params:
            raise ValueError(f"{kind} got an empty parameter list")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for index, p in enumerate(params):
            if not isinstance(p, Value) and not (isinstance(p, Tensor) and p.requires_grad):
                raise TypeError(f"{kind}: parameters must be Values or Tensors with "
                                f"requires_grad=True, got {_describe(p)} at position {index}")
            if id(p) in seen:
                raise ValueError(
                    f"{kind}: the parameter at position {index} ({_describe(p)}) was given "
                    "twice; list each parameter once (model.parameters() lists a shared "
                    "parameter once), or it would be updated twice per step")
            seen.add(id(p))
        full = {**self.defaults, **group, "params": params}
        self._check_group(full)
        self.param_groups.append(full)

    def _check_group(self, group: Group) -> None:
        """Raise ValueError, naming the hyperparameter, if ``group`` holds a bad value."""

    def _check(self, group: Group, name: str, low: float = 0.0, high: float = math.inf,
               *, below_high: bool = False) -> None:
        """``group[name]`` must be a finite number in [low, high] ([low, high) if asked)."""
        value = group[name]
        ok = (isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
              and math.isfinite(value) and low <= value
              and (value < high if below_high else value <= high))
        if not ok:
            bound = ")" if below_high else "]"
            upper = "inf)" if high == math.inf else f"{high:g}{bound}"
            raise ValueError(f"{type(self).__name__}: {name} must be a number in "
                             f"[{low:g}, {upper}, got {value!r}")

    # ----- Steps ---------------------------------------------------------------------------

    def zero_grad(self) -> None:
        """Forget the gradients: ``None`` on Tensors (as in PyTorch), 0.0 on Values."""
        for group in self.param_groups:
            for p in group["params"]:
                if isinstance(p, Tensor):
                    p.grad = None
                else:
                    p.grad = 0.0

    def step(self) -> None:
        """Update every parameter that has a gradient, with its group's current values."""
        update, states, scratches = self._update, self.state, self._scratch
        for index, group in enumerate(self.param_groups):
            values = []
            for p in group["params"]:
                grad = p.grad
                if grad is None:  # a Tensor without a gradient (a Value's is a number)
                    continue
                if type(p) is Value:
                    values.append(p)
                    continue
                # Bumped before the write, so that a backward through a graph that saved
                # the old values refuses to run, even one running in another thread.
                bump_version(p)
                data = p._data
                if type(grad) is not np.ndarray or grad.dtype is not data.dtype:
                    grad = np.asarray(grad, dtype=data.dtype)
                scratch = scratches.get(p)  # working memory, reused from step to step
                if scratch is None or scratch.shape != data.shape \
                        or scratch.dtype is not data.dtype:
                    scratch = scratches[p] = np.empty_like(data)
                state = states.get(p)
                if state is None:
                    state = self._state(p)
                update(data, grad, state, group, scratch)
            if values:
                key = ("values", index)
                data = np.fromiter((v.data for v in values), np.float64, len(values))
                grad = np.fromiter((v.grad for v in values), np.float64, len(values))
                update(data, grad, self._state(key), group, np.empty_like(data))
                for v, x in zip(values, data.tolist()):
                    v.data = x

    def _state(self, key: StateKey) -> dict[str, Any]:
        """The state of ``key``, made empty on first use."""
        return self.state.setdefault(key, {})

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: Group, scratch: np.ndarray) -> None:
        """Update ``param`` in place from ``grad``.

        ``state`` persists across steps; ``scratch`` is memory of ``param``'s shape and
        dtype that the rule may overwrite.
        """
        raise NotImplementedError

    # ----- Resuming ------------------------------------------------------------------------

    def _slots(self) -> list[tuple[StateKey, tuple[int, ...], np.dtype]]:
        """Every state key in a fixed order (groups in order; in each, its Tensors, then
        its Values as one vector), with the shape and dtype of its state arrays."""
        slots: list[tuple[StateKey, tuple[int, ...], np.dtype]] = []
        for index, group in enumerate(self.param_groups):
            count = 0
            for p in group["params"]:
                if isinstance(p, Tensor):
                    slots.append((p, p.shape, p.dtype))
                else:
                    count += 1
            if count:
                slots.append((("values", index), (count,), np.dtype(np.float64)))
        return slots

    def state_dict(self) -> dict[str, np.ndarray]:
        """Hyperparameters and per-parameter state as flat arrays (``save`` takes it).

        Keys: ``param_groups.{i}.{name}`` for group i's hyperparameters and
        ``state.{j}.{name}`` for the state of slot j (see ``_slots``).
        """
        out: dict[str, np.ndarray] = {}
        for i, group in enumerate(self.param_groups):
            for name, value in group.items():
                if name != "params" and _is_hyperparameter(value):
                    out[f"param_groups.{i}.{name}"] = np.asarray(
                        value, dtype=bool if isinstance(value, bool) else np.float64)
        for j, (key, _, _) in enumerate(self._slots()):
            for name, value in self.state.get(key, {}).items():
                out[f"state.{j}.{name}"] = np.array(value)
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Resume from ``state_dict()``; everything is checked (hyperparameters as the
        constructor checks them, shapes, step counts) before anything changes.

        Hyperparameters the state dict does not mention keep their current values; the
        per-parameter state is replaced by the state dict's.
        """
        kind = type(self).__name__
        groups = [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]
        slots = self._slots()
        states: list[dict[str, Any]] = [{} for _ in slots]
        for key, value in state_dict.items():
            array = np.asarray(getattr(value, "data", value))
            parts = key.split(".")
            if len(parts) != 3 or parts[0] not in ("param_groups", "state") \
                    or not parts[1].isdigit():
                raise ValueError(f"{kind}.load_state_dict: unexpected key {key!r}")
            section, index, name = parts[0], int(parts[1]), parts[2]
            if section == "param_groups":
                if index >= len(groups):
                    raise ValueError(f"{kind}.load_state_dict: {key!r}: this optimizer has "
                                     f"{len(groups)} parameter groups")
                groups[index][name] = _hyperparameter(array, groups[index].get(name))
            elif index >= len(slots):
                raise ValueError(f"{kind}.load_state_dict: {key!r} does not fit these "
                                 f"parameters ({len(slots)} state slots)")
            elif name == "step":
                if not _is_count(array):
                    raise ValueError(f"{kind}.load_state_dict: {key!r} must be a whole "
                                     f"number >= 0, got {array}")
                states[index][name] = int(array)
            else:
                _, shape, dtype = slots[index]
                if array.shape != shape or array.dtype.kind not in "iuf":
                    raise ValueError(f"{kind}.load_state_dict: {key!r} with shape "
                                     f"{array.shape} does not fit these parameters "
                                     f"(expected {shape})")
                states[index][name] = np.array(array, dtype=dtype)
        for group, current in zip(groups, self.param_groups):
            self._check_group({**group, "params": current["params"]})
        for group, current in zip(groups, self.param_groups):
            current.update(group)
        self.state = {key: state for (key, _, _), state in zip(slots, states) if state}

    def __repr__(self) -> str:
        groups = []
        for group in self.param_groups:
            hyper = ", ".join(f"{k}={v!r}" for k, v in group.items() if k != "params")
            groups.append(f"[{len(group['params'])} parameters, {hyper}]")
        return f"{type(self).__name__}({', '.join(groups)})"


def _is_hyperparameter(value: Any) -> bool:
    """A number, a bool or a tuple of numbers: what a state dict can hold for a group."""
    items = value if isinstance(value, tuple) else (value,)
    return all(isinstance(x, (int, float, np.number)) for x in items)


def _is_count(array: np.ndarray) -> bool:
    """A whole number >= 0 held in a 0-d array (a step count)."""
    return bool(array.shape == () and array.dtype.kind in "iuf" and np.isfinite(array)
                and array >= 0 and array == np.floor(array))


def _hyperparameter(array: np.ndarray, current: Any) -> Any:
    """A saved hyperparameter in the type the group holds (a bool, a tuple, a float)."""
    if isinstance(current, bool) or array.dtype == bool:
        return bool(array)
    if array.ndim:
        return tuple(float(x) for x in array.ravel())
    return float(array)
