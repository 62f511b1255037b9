"""``Module``: parameters found by walking attributes, state dicts, a readable repr.

A module's parameters are its attributes that are ``Tensor``s requiring grad, ``Value``s,
or rectangular (nested) lists of ``Value``s; its children are attributes that are
modules, or lists, tuples and dicts of modules. Walking attributes, rather than
registering them on assignment, keeps modules plain Python objects. Buffers (state that
is saved but not learned, such as BatchNorm's running statistics) are the one thing a
module declares, with ``register_buffer``.

A module or an array reached twice (``Sequential(d, d)``, tied weights) is listed once,
under the first name it was reached by: an optimizer then updates it once per step.

A parameter *array* is one state-dict entry: a Tensor, a Value (shape ``()``) or a nested
list of Values (a list of rows is a matrix). The scalar and tensor engines therefore give
the same layer the same keys and shapes, and weights move between engines unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ..graph import _mode
from ..scalar import Value
from ..tensor import Tensor
from ..tensor.tensor import bump_version
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


def _walk_modules(module: Module, path: str, seen: set[int]) -> Iterator[tuple[str, Module]]:
    if id(module) in seen:
        return
    seen.add(id(module))
    yield path, module
    for name, child in module.named_children():
        yield from _walk_modules(child, _join(path, name), seen)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class Module:
    """Base class for layers and models: call it to run ``forward``.

    ``training`` is True until ``eval()`` is called; layers such as ``Dropout`` and
    ``BatchNorm1d`` behave differently in the two modes.
    """

    training: bool = True  # a class default, so subclasses need not call __init__

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Ops run here record this module in their scope: drawings put them in its box.
        saved = _mode.scope
        _mode.set_scope((*saved, self))
        try:
            return self.forward(*args, **kwargs)
        finally:
            _mode.set_scope(saved)

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

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module (named ``prefix``) and every module below it, each once, parents
        before children, named by dotted path (``layers.0``)."""
        return _walk_modules(self, prefix, set())

    def modules(self) -> list[Module]:
        """This module and every module below it, each once."""
        return [module for _, module in self.named_modules()]

    def _own_parameter_arrays(self) -> Iterator[tuple[str, ParameterArray]]:
        for name, attr in vars(self).items():
            if name.startswith("_"):
                continue
            if isinstance(attr, Tensor):
                if attr.requires_grad:
                    yield name, attr
            elif _value_grid(attr) is not None:
                yield name, attr

    def _own_buffers(self) -> Iterator[tuple[str, Tensor]]:
        for name in vars(self).get("_buffers", ()):
            yield name, getattr(self, name)

    def named_parameter_arrays(self, prefix: str = "") -> Iterator[tuple[str, ParameterArray]]:
        """Every parameter array (one state-dict entry each), once, with dotted names."""
        seen: set[int] = set()
        for path, module in self.named_modules(prefix):
            for name, array in module._own_parameter_arrays():
                if id(array) not in seen:
                    seen.add(id(array))
                    yield _join(path, name), array

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """Every buffer (saved, not learned: running statistics), once, with dotted names."""
        seen: set[int] = set()
        for path, module in self.named_modules(prefix):
            for name, buffer in module._own_buffers():
                if id(buffer) not in seen:
                    seen.add(id(buffer))
                    yield _join(path, name), buffer

    def named_parameters(self) -> Iterator[tuple[str, Tensor | Value]]:
        """Every learnable Tensor or Value, once; Values inside a grid are named by index."""
        for name, array in self.named_parameter_arrays():
            if isinstance(array, (Tensor, Value)):
                yield name, array
            else:
                shape = _value_grid(array) or ()
                for index, v in zip(np.ndindex(*shape), _flat_values(array)):
                    yield name + "".join(f".{i}" for i in index), v

    def parameters(self) -> list[Tensor | Value]:
        """Every learnable Tensor or Value, once, in a stable order (the optimizers' input)."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        """How many learnable numbers the model has (a shared parameter counts once)."""
        return sum(
            a.data.size if isinstance(a, Tensor) else len(_flat_values(a))
            for _, a in self.named_parameter_arrays()
        )

    def register_buffer(self, name: str, array: Any) -> None:
        """Keep ``array`` as attribute ``name``: a Tensor that ``state_dict`` saves and
        ``load_state_dict`` restores, but that no optimizer sees."""
        if not name.isidentifier() or name.startswith("_"):
            raise ValueError(f"register_buffer: {name!r} is not a public attribute name")
        buffers = vars(self).setdefault("_buffers", [])
        if name not in buffers:
            buffers.append(name)
        setattr(self, name, array if isinstance(array, Tensor) else Tensor(np.asarray(array)))

    def zero_grad(self) -> None:
        """Forget gradients: ``None`` on Tensors (as in PyTorch), 0.0 on Values."""
        for p in self.parameters():
            if isinstance(p, Tensor):
                p.grad = None
            else:
                p.grad = 0.0

    # ----- Modes -------------------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Put this module and every module below it in training mode (or not); returns self."""
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode (``train(False)``): Dropout passes inputs through, BatchNorm uses
        its running statistics. Returns self."""
        return self.train(False)

    # ----- State -------------------------------------------------------------------------

    def _named_state(self) -> dict[str, ParameterArray]:
        """Parameter arrays and buffers: everything a state dict holds, by dotted name."""
        state = dict(self.named_parameter_arrays())
        state.update(self.named_buffers())
        return state

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter array and buffer, by dotted name."""
        return {name: _as_array(p) for name, p in self._named_state().items()}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> None:
        """Copy arrays into the parameters and buffers, in place.

        Everything is checked before anything is written: missing or unexpected keys (when
        ``strict``) and shape mismatches raise, naming them, and leave the model unchanged.
        """
        own = self._named_state()
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
                bump_version(p)  # first: a graph that saved the old values must not backprop
                p._data[...] = array
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
