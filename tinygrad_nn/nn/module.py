"""``Module``: parameters found by walking attributes, state dicts, a readable repr.

A module's parameters are its attributes that are ``Tensor``s requiring grad, ``Value``s,
or rectangular (nested) lists of ``Value``s; its children are attributes that are
modules, or lists, tuples and dicts of modules. Walking attributes, rather than
registering them on assignment, keeps modules plain Python objects.

A parameter *array* is one state-dict entry: a Tensor, a Value (shape ``()``) or a nested
list of Values (a list of rows is a matrix). The scalar and tensor engines therefore give
the same layer the same keys and shapes, and weights move between engines unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ..graph import module_scope
from ..scalar import Value
from ..tensor import Tensor
from ..viz import draw_graph

__all__ = ["Module"]

ParameterArray = Any  # Tensor | Value | nested list of Values


def _value_grid(x: Any) -> tuple[int, ...] | None:
    """The shape of a rectangular nested list of Values, or None if ``x`` is not one."""
    if isinstance(x, Value):
        return ()
    if not isinstance(x, list) or not x:
        return None
    shapes = {_value_grid(item) for item in x}
    if len(shapes) != 1 or None in shapes:
        return None
    return (len(x), *shapes.pop())  # type: ignore[misc]


def _flat_values(x: Any) -> list[Value]:
    if isinstance(x, Value):
        return [x]
    return [v for item in x for v in _flat_values(item)]


def _is_module_collection(x: Any) -> bool:
    items = x.values() if isinstance(x, dict) else x
    return isinstance(x, (list, tuple, dict)) and bool(x) and all(
        isinstance(item, Module) for item in items
    )


def _as_array(p: ParameterArray) -> np.ndarray:
    if isinstance(p, Tensor):
        return p.data.copy()
    return np.array([v.data for v in _flat_values(p)], dtype=np.float64).reshape(_value_grid(p))


class Module:
    """Base class for layers and models: call it to run ``forward``."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with module_scope(self):  # ops run here are drawn inside this module's box
            return self.forward(*args, **kwargs)

    # ----- Walking the attributes ------------------------------------------------------

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Direct submodules, named by attribute path (``layers.0``)."""
        for name, attr in vars(self).items():
            if name.startswith("_"):
                continue
            if isinstance(attr, Module):
                yield name, attr
            elif _is_module_collection(attr):
                items = attr.items() if isinstance(attr, dict) else enumerate(attr)
                for key, child in items:
                    yield f"{name}.{key}", child

    def named_parameter_arrays(self, prefix: str = "") -> Iterator[tuple[str, ParameterArray]]:
        """Every parameter array (one state-dict entry each), with dotted names."""
        for name, attr in vars(self).items():
            if name.startswith("_"):
                continue
            if isinstance(attr, Tensor):
                if attr.requires_grad:
                    yield prefix + name, attr
            elif _value_grid(attr) is not None:
                yield prefix + name, attr
        for name, child in self.named_children():
            yield from child.named_parameter_arrays(f"{prefix}{name}.")

    def named_parameters(self) -> Iterator[tuple[str, Tensor | Value]]:
        """Every learnable Tensor or Value; Values inside a grid are named by index."""
        for name, array in self.named_parameter_arrays():
            if isinstance(array, (Tensor, Value)):
                yield name, array
            else:
                shape = _value_grid(array) or ()
                for index, v in zip(np.ndindex(*shape), _flat_values(array)):
                    yield name + "".join(f".{i}" for i in index), v

    def parameters(self) -> list[Tensor | Value]:
        """Every learnable Tensor or Value, in a stable order (the optimizers' input)."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        """How many learnable numbers the model has."""
        return sum(
            a.data.size if isinstance(a, Tensor) else len(_flat_values(a))
            for _, a in self.named_parameter_arrays()
        )

    def zero_grad(self) -> None:
        """Forget gradients: ``None`` on Tensors (as in PyTorch), 0.0 on Values."""
        for p in self.parameters():
            if isinstance(p, Tensor):
                p.grad = None
            else:
                p.grad = 0.0

    # ----- State -------------------------------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter array, by dotted name."""
        return {name: _as_array(p) for name, p in self.named_parameter_arrays()}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> None:
        """Copy arrays into the parameters, in place.

        Everything is checked before anything is written: missing or unexpected keys (when
        ``strict``) and shape mismatches raise, naming them, and leave the model unchanged.
        """
        own = dict(self.named_parameter_arrays())
        problems = []
        if strict:
            missing = sorted(set(own) - set(state_dict))
            unexpected = sorted(set(state_dict) - set(own))
            if missing:
                problems.append(f"missing keys {missing}")
            if unexpected:
                problems.append(f"unexpected keys {unexpected}")
        arrays = {}
        for name, p in own.items():
            if name not in state_dict:
                continue
            array = np.asarray(getattr(state_dict[name], "data", state_dict[name]))
            shape = p.data.shape if isinstance(p, Tensor) else _value_grid(p)
            if array.shape != shape:
                problems.append(f"{name!r} has shape {array.shape} in the state dict, "
                                f"{shape} in the model")
            elif not np.issubdtype(array.dtype, np.number) or np.issubdtype(
                array.dtype, np.complexfloating
            ):
                problems.append(f"{name!r} has non-real dtype {array.dtype}")
            else:
                arrays[name] = array
        if problems:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: " + "; ".join(problems)
                + " (nothing was loaded)"
            )
        for name, array in arrays.items():
            p = own[name]
            if isinstance(p, Tensor):
                p.data[...] = array
            else:
                for v, x in zip(_flat_values(p), array.ravel().tolist()):
                    v.data = float(x)

    def draw(self, **kwargs: Any) -> Any:
        """A diagram of the layers: a graphviz Digraph (SVG, inline in Jupyter)."""
        return draw_graph(self, **kwargs)

    # ----- Printing ----------------------------------------------------------------------

    def extra_repr(self) -> str:
        """What to show between the parentheses of this module's own line."""
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not children:
            return head + ")"
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in children]
        return head + "\n" + "\n".join(lines) + "\n)"
