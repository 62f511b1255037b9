"""Which module drew what: dotted paths, box titles and parameter owners for a graph's models.

A node records the modules whose ``forward`` was running when it was made (``_scope``,
outermost first). The outermost one is the model the user called; walking its
``named_children`` turns the objects into paths such as ``layers.0``. Modules are duck-typed
(``named_children``, ``named_parameters``, and the layer attributes ``nin``, ``nout``,
``activation``, ``pieces``), so this file imports nothing from ``nn``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._render import plural

ARROW = "\N{RIGHTWARDS ARROW}"


def layer_facts(module: Any, linear: str) -> list[str]:
    """A layer's sizes, activation and pieces in words (``["2 → 8", "relu"]``); ``linear``
    names the identity activation."""
    facts = []
    if hasattr(module, "nin"):
        facts.append(f"{module.nin} {ARROW} {getattr(module, 'nout', 1)}")
    activation = getattr(module, "activation", None)
    if isinstance(activation, str):  # a registry name
        given = getattr(module, "activation_params", {})
        params = ", ".join(f"{k}={v:g}" for k, v in given.items())
        name = linear if activation == "identity" else activation
        facts.append(f"{name}({params})" if params else name)
    if hasattr(module, "pieces"):
        facts.append(plural(module.pieces, "piece"))
    return facts


def describe(module: Any) -> str:
    """``Dense(2 → 8, relu)``: the type, its sizes and activation, in a box title's words."""
    facts = layer_facts(module, linear="linear")
    name = type(module).__name__
    return f"{name}({', '.join(facts)})" if facts else name


class ModuleIndex:
    """Paths, titles and parameter owners of the models that ran a graph's ops.

    ``models`` are the roots to name modules from: the outermost module of every scope,
    and the model given as ``params``. A module reached from none of them is titled by its
    type alone.
    """

    def __init__(self, models: Iterable[Any]) -> None:
        self.path: dict[int, str] = {}  # id(module) -> "layers.0" ("" for a model)
        self.chain: dict[int, tuple[Any, ...]] = {}  # id(module) -> (model, ..., module)
        self.owner: dict[int, tuple[Any, ...]] = {}  # id(parameter) -> its module's chain
        self.param_name: dict[int, str] = {}  # id(parameter) -> "layers.0.weight"
        self._keep: list[Any] = []  # the modules indexed, so that their ids stay theirs
        for model in models:
            if id(model) not in self.chain and hasattr(model, "named_children"):
                self._walk(model, "", (model,))

    def _walk(self, module: Any, path: str, chain: tuple[Any, ...]) -> None:
        self._keep.append(module)
        self.path[id(module)] = path
        self.chain[id(module)] = chain
        for name, child in module.named_children():
            if id(child) not in self.chain:  # a module shared twice keeps its first path
                self._walk(child, f"{path}.{name}" if path else name, (*chain, child))
        if len(chain) == 1 and hasattr(module, "named_parameters"):
            self._own_parameters(module)

    def _own_parameters(self, model: Any) -> None:
        # A parameter belongs to the deepest module whose path prefixes its name.
        by_path = {self.path[id(m)]: m for m in self._keep if self.chain[id(m)][0] is model}
        for name, p in model.named_parameters():
            self.param_name.setdefault(id(p), name)
            parts = name.split(".")
            for cut in range(len(parts) - 1, -1, -1):
                module = by_path.get(".".join(parts[:cut]))
                if module is not None:
                    self.owner.setdefault(id(p), self.chain[id(module)])
                    break

    def title(self, module: Any) -> str:
        """``layers.0: Dense(2 → 8, relu)``; a model is titled by its description alone."""
        path = self.path.get(id(module), "")
        return f"{path}: {describe(module)}" if path else describe(module)

    def scope(self, node: Any) -> tuple[Any, ...]:
        """The modules ``node`` is drawn inside: those that made it, or, for a parameter,
        the module that holds it."""
        scope = getattr(node, "_scope", ())
        if not scope:
            return self.owner.get(id(node), ())
        return scope


def models_of(nodes: Iterable[Any]) -> list[Any]:
    """The outermost modules of the nodes' scopes, in order of first appearance."""
    seen: dict[int, Any] = {}
    for node in nodes:
        scope = getattr(node, "_scope", ())
        if scope and id(scope[0]) not in seen:
            seen[id(scope[0])] = scope[0]
    return list(seen.values())
