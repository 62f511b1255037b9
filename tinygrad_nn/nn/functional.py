"""Losses, on both engines.

Tensor engine: a batch (rows are samples), labels as an integer array. Scalar engine: one
sample with one label, or a list of samples with a list of labels. A sample is a list of
Value class scores for ``cross_entropy`` and ``multiclass_hinge``, and one Value score for
``hinge``, ``binary_cross_entropy_with_logits`` and ``mse``.

Every loss takes ``reduction="mean" | "sum" | "none"`` and stays finite for scores up to
1e4 in magnitude: log-sum-exp subtracts the max, and the logistic loss is written with
softplus.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np

from .. import ops
from ..scalar import Value
from ..tensor import Tensor
from ..tensor.apply import apply

__all__ = [
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "embedding",
    "hinge",
    "l2",
    "linear",
    "mse",
    "multiclass_hinge",
]

Reduction = Literal["mean", "sum", "none"]


def _reduce(losses: Any, reduction: str, loss: str) -> Any:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{loss}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if reduction == "none" or losses is None:
        return losses
    if isinstance(losses, Tensor):
        return losses.mean() if reduction == "mean" else losses.sum()
    total = Value.sum(losses)
    return total / len(losses) if reduction == "mean" else total


def _int_labels(labels: Any, n: int, classes: int, loss: str, *,
                check_range: bool = True) -> np.ndarray:
    array = labels._data if isinstance(labels, Tensor) else np.asarray(labels)
    if array.shape != (n,):
        raise ValueError(f"{loss}: expected {n} labels (one per sample), got shape {array.shape}")
    if array.dtype.kind not in "iu":
        raise TypeError(f"{loss}: labels must be integer class indices, got dtype {array.dtype}")
    if check_range and n and (array.min() < 0 or array.max() >= classes):
        raise ValueError(f"{loss}: labels must lie in [0, {classes}), got {array.min()}..."
                         f"{array.max()}")
    return array


def _target_array(target: Any, predictions: Tensor, loss: str) -> Any:
    """A target for a Tensor prediction: a Tensor kept as is, else an array of its shape.

    Array targets take the predictions' dtype: they need no gradient, and float64 NumPy
    targets would otherwise promote a float32 loss to float64.
    """
    shape = predictions.shape
    if isinstance(target, Tensor):
        array = target._data
    else:
        array = np.asarray(target, dtype=predictions.dtype)
        target = array
    if array.size != int(np.prod(shape)):
        raise ValueError(f"{loss}: predictions of shape {shape} but targets of shape "
                         f"{array.shape}")
    return target.reshape(shape) if array.shape != shape else target


def _one_score_vector(scores: Any) -> bool:
    """One sample of class scores (a list of Values), rather than a list of samples."""
    return isinstance(scores, Sequence) and len(scores) > 0 and isinstance(scores[0], Value)


def _one_score(scores: Any) -> bool:
    """One sample of a single score (a Value), rather than a list of samples."""
    return isinstance(scores, Value)


def _per_sample(fn: Any, scores: Any, labels: Any, reduction: str, loss: str,
                one_sample: Any = _one_score_vector) -> Any:
    """Scalar engine: one sample gives one loss Value; a list of samples is reduced."""
    if one_sample(scores):
        return fn(scores, labels)
    scores, labels = list(scores), list(labels)
    if len(scores) != len(labels):
        raise ValueError(f"{loss}: {len(scores)} samples but {len(labels)} labels")
    return _reduce([fn(s, y) for s, y in zip(scores, labels)], reduction, loss)


# ----- Softmax classifier --------------------------------------------------------------


def cross_entropy(logits: Any, labels: Any, reduction: Reduction = "mean") -> Any:
    """-log softmax(logits)[label]: the softmax classifier's loss, via a stable log-softmax."""
    if isinstance(logits, Tensor):
        if logits.ndim != 2:
            raise ValueError(f"cross_entropy: logits must be (batch, classes), got {logits.shape}")
        n, classes = logits.shape
        # (The cross_entropy op checks the labels' range itself.)
        labels = _int_labels(labels, n, classes, "cross_entropy", check_range=False)
        _reduce(None, reduction, "cross_entropy")  # checks the name
        # One op (log-softmax, pick and reduce fused): one node, one gradient rule.
        return apply(ops.get("cross_entropy"), (logits, labels), {"reduction": reduction})
    return _per_sample(_cross_entropy_sample, logits, labels, reduction, "cross_entropy")


def _cross_entropy_sample(scores: Sequence[Value], label: int) -> Value:
    scores = list(scores)
    _int_labels([label], 1, len(scores), "cross_entropy")
    # NOTE: log sum exp(s) = m + log sum exp(s - m) for any constant m; the max keeps every
    # exp in (0, 1]. m is a plain number: the identity holds for every m, so no gradient.
    m = max(s.data for s in scores)
    log_sum_exp = Value.sum([(s - m).exp() for s in scores]).log() + m
    return log_sum_exp - scores[label]


def linear(x: Any, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias: one ``linear`` node (weight of shape (out, in), as PyTorch).

    ``x`` is any (..., in) Tensor or array; the result is (..., out).
    """
    if bias is None:
        return x @ weight.T if isinstance(x, Tensor) else Tensor(x) @ weight.T
    return apply(ops.get("linear"), (x, weight, bias), {})


def embedding(indices: Any, weight: Tensor) -> Tensor:
    """Rows of ``weight`` (num_embeddings, dim) picked by ``indices``: one ``embedding`` node.

    ``indices`` are integers of any shape in [0, num_embeddings) (a Tensor, an array or a
    list; checked by the op); the result is (*indices.shape, dim). A row picked several
    times adds up its gradients. As PyTorch's ``F.embedding``.
    """
    if not isinstance(indices, Tensor):
        indices = np.asarray(indices)  # a list of ints stays int (a Tensor of it would be float)
    return apply(ops.get("embedding"), (indices, weight), {})


# ----- Logistic regression ---------------------------------------------------------------


def binary_cross_entropy_with_logits(logits: Any, targets: Any,
                                     reduction: Reduction = "mean") -> Any:
    """-t log sigmoid(x) - (1 - t) log(1 - sigmoid(x)) = softplus(x) - t x, targets in [0, 1]."""
    if isinstance(logits, Tensor):
        targets = _target_array(targets, logits, "binary_cross_entropy_with_logits")
        return _reduce(logits.softplus() - logits * targets, reduction,
                       "binary_cross_entropy_with_logits")
    return _per_sample(lambda x, t: x.softplus() - x * float(t), logits, targets, reduction,
                       "binary_cross_entropy_with_logits", one_sample=_one_score)


# ----- Support vector machines -----------------------------------------------------------


def hinge(scores: Any, labels: Any, reduction: Reduction = "mean") -> Any:
    """max(0, 1 - y s): the binary SVM loss, labels +1 or -1."""
    if isinstance(scores, Tensor):
        labels = _target_array(labels, scores, "hinge")
        _check_signs(getattr(labels, "data", labels))
        return _reduce((1.0 - labels * scores).relu(), reduction, "hinge")

    def sample(s: Value, y: float) -> Value:
        if y != 1 and y != -1:  # one label: no need for NumPy's array check
            raise ValueError(_SIGNS_ERROR)
        return (1.0 - float(y) * s).relu()

    return _per_sample(sample, scores, labels, reduction, "hinge", one_sample=_one_score)


_SIGNS_ERROR = "hinge: labels must be +1 or -1"


def _check_signs(labels: np.ndarray) -> None:
    if not np.all(np.abs(labels) == 1):
        raise ValueError(_SIGNS_ERROR)


def multiclass_hinge(scores: Any, labels: Any, margin: float = 1.0,
                     reduction: Reduction = "mean") -> Any:
    """sum over wrong classes j of max(0, s_j - s_label + margin) (Weston & Watkins)."""
    if isinstance(scores, Tensor):
        if scores.data.ndim != 2:
            raise ValueError(f"multiclass_hinge: scores must be (batch, classes), got "
                             f"{scores.shape}")
        n, classes = scores.shape
        labels = _int_labels(labels, n, classes, "multiclass_hinge")
        correct = scores[np.arange(n), labels].reshape(n, 1)
        # The label's own term is max(0, margin) = margin, with zero gradient: subtract it.
        losses = (scores - correct + margin).relu().sum(axis=1) - margin
        return _reduce(losses, reduction, "multiclass_hinge")

    def sample(s: Sequence[Value], label: int) -> Value:
        s = list(s)
        _int_labels([label], 1, len(s), "multiclass_hinge")
        return Value.sum([(sj - s[label] + margin).relu() for j, sj in enumerate(s) if j != label])

    return _per_sample(sample, scores, labels, reduction, "multiclass_hinge")


# ----- Regression and regularisation ----------------------------------------------------


def mse(predictions: Any, targets: Any, reduction: Reduction = "mean") -> Any:
    """(prediction - target)^2, averaged (or summed) over every element."""
    if isinstance(predictions, Tensor):
        targets = _target_array(targets, predictions, "mse")
        diff = predictions - targets
        return _reduce(diff * diff, reduction, "mse")
    if isinstance(predictions, Value):
        predictions, targets = [predictions], [targets]
    predictions, targets = list(predictions), list(targets)
    if len(predictions) != len(targets):
        raise ValueError(f"mse: {len(predictions)} predictions but {len(targets)} targets")
    return _reduce([(p - t) ** 2 for p, t in zip(predictions, targets)], reduction, "mse")


def l2(parameters: Iterable[Any]) -> Any:
    """sum of p^2 over every parameter: multiply by the regularisation strength yourself."""
    parameters = list(parameters)
    tensors = [p for p in parameters if isinstance(p, Tensor)]
    values = [p for p in parameters if isinstance(p, Value)]
    if len(tensors) + len(values) != len(parameters):
        raise TypeError("l2 expects Tensors or Values")
    if tensors and values:
        raise TypeError("l2: the parameters mix Tensors and Values (two engines)")
    if values:
        return Value.dot(values, values)
    if not tensors:
        raise ValueError("l2 got no parameters")
    total = (tensors[0] * tensors[0]).sum()
    for p in tensors[1:]:
        total = total + (p * p).sum()
    return total
