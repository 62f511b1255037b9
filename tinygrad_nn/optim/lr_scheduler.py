"""Learning-rate schedules with PyTorch's names, arguments and sequences.

A scheduler sets ``lr`` in every parameter group of an optimizer. Call ``step()`` once
per epoch, after the epoch's optimizer steps; ``get_last_lr()`` lists the rates it set.
Creating a scheduler sets epoch 0's rate, as PyTorch's do::

    scheduler = lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
    for epoch in range(100):
        train_one_epoch()        # optimizer.step() per batch
        scheduler.step()

Each schedule is computed in closed form from each group's initial rate
(``group["initial_lr"]``, recorded by the first scheduler): epoch t's rate does not depend
on changes made to ``lr`` in between.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["CosineAnnealingLR", "ExponentialLR", "LRScheduler", "LambdaLR", "StepLR"]


class LRScheduler:
    """Base class: ``step()`` moves to the next epoch and sets each group's ``lr`` to
    ``_lr(initial_lr, epoch)``."""

    def __init__(self, optimizer: Any, last_epoch: int = -1) -> None:
        groups = getattr(optimizer, "param_groups", None)
        if not isinstance(groups, list):
            raise TypeError(f"{type(self).__name__} schedules an optimizer (with "
                            f"param_groups), got {type(optimizer).__name__}")
        if last_epoch == -1:
            for group in groups:
                group.setdefault("initial_lr", group["lr"])
        elif any("initial_lr" not in group for group in groups):
            raise KeyError(f"{type(self).__name__}: resuming at last_epoch={last_epoch} needs "
                           "'initial_lr' in every parameter group (set by the first scheduler)")
        self.optimizer = optimizer
        self.base_lrs: list[float] = [group["initial_lr"] for group in groups]
        self.last_epoch = last_epoch
        self._last_lr: list[float] = []
        self.step()

    def _lr(self, base_lr: float, epoch: int) -> float:
        """The rate at ``epoch`` of a group that started at ``base_lr``."""
        raise NotImplementedError

    def _rates(self, epoch: int) -> list[float]:
        """Every group's rate at ``epoch``."""
        return [self._lr(base, epoch) for base in self.base_lrs]

    def step(self) -> None:
        """Move to the next epoch and set every group's ``lr`` for it."""
        self.last_epoch += 1
        self._last_lr = self._rates(self.last_epoch)
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr

    def get_last_lr(self) -> list[float]:
        """The rate set by the last ``step()``, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Where the schedule is (``save`` takes it); the optimizer saves its own rates."""
        return {"last_epoch": np.asarray(self.last_epoch, dtype=np.int64),
                "base_lrs": np.asarray(self.base_lrs, dtype=np.float64)}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Resume from ``state_dict()``; checked first, and nothing changes on refusal."""
        kind = type(self).__name__
        unexpected = sorted(set(state_dict) - {"last_epoch", "base_lrs"})
        if unexpected or len(state_dict) != 2:
            raise ValueError(f"{kind}.load_state_dict: expected the keys 'last_epoch' and "
                             f"'base_lrs', got {sorted(state_dict)}")
        epoch = np.asarray(state_dict["last_epoch"])
        base_lrs = np.asarray(state_dict["base_lrs"], dtype=np.float64)
        if epoch.shape != () or epoch.dtype.kind not in "iu" or epoch < 0:
            raise ValueError(f"{kind}.load_state_dict: last_epoch must be a whole number >= 0, "
                             f"got {epoch}")
        if base_lrs.shape != (len(self.base_lrs),) or not np.all(np.isfinite(base_lrs)) \
                or np.any(base_lrs < 0):
            raise ValueError(f"{kind}.load_state_dict: base_lrs must be {len(self.base_lrs)} "
                             f"finite rates >= 0, got {base_lrs}")
        self.last_epoch = int(epoch)
        self.base_lrs = base_lrs.tolist()
        self._last_lr = self._rates(self.last_epoch)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self._last_lr})"


def _positive_int(value: Any, name: str, kind: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{kind}: {name} must be a whole number >= 1, got {value!r}")
    return int(value)


def _positive(value: Any, name: str, kind: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{kind}: {name} must be a finite number > 0, got {value!r}")
    return float(value)


class StepLR(LRScheduler):
    """lr = initial_lr * gamma ** (epoch // step_size): divided every ``step_size`` epochs."""

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size = _positive_int(step_size, "step_size", "StepLR")
        self.gamma = _positive(gamma, "gamma", "StepLR")
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """lr = initial_lr * gamma ** epoch."""

    def __init__(self, optimizer: Any, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = _positive(gamma, "gamma", "ExponentialLR")
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2.

    Half a cosine from the initial rate down to ``eta_min`` over ``T_max`` epochs (SGDR,
    Loshchilov & Hutter, without restarts); past ``T_max`` the cosine continues back up,
    as in PyTorch.
    """

    def __init__(self, optimizer: Any, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_max = _positive_int(T_max, "T_max", "CosineAnnealingLR")
        if not math.isfinite(eta_min) or eta_min < 0:
            raise ValueError(f"CosineAnnealingLR: eta_min must be a finite number >= 0, "
                             f"got {eta_min!r}")
        self.eta_min = float(eta_min)
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr: float, epoch: int) -> float:
        cosine = (1.0 + math.cos(math.pi * epoch / self.T_max)) / 2.0
        return self.eta_min + (base_lr - self.eta_min) * cosine


class LambdaLR(LRScheduler):
    """lr = initial_lr * lr_lambda(epoch); one function for every group, or one per group."""

    def __init__(self, optimizer: Any,
                 lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        groups = len(getattr(optimizer, "param_groups", ()))
        functions = list(lr_lambda) if isinstance(lr_lambda, Sequence) else [lr_lambda] * groups
        if len(functions) != groups or not all(callable(f) for f in functions):
            raise ValueError(f"LambdaLR: lr_lambda must be a function, or a list of "
                             f"{groups} functions (one per parameter group)")
        self.lr_lambdas = functions
        super().__init__(optimizer, last_epoch)

    def _rates(self, epoch: int) -> list[float]:
        return [base * float(f(epoch)) for base, f in zip(self.base_lrs, self.lr_lambdas)]
