"""Shape, indexing and joining ops (Tensor only): each moves elements, so each gradient
moves them back (reshape back, transpose back, scatter back, slice back).

Names are PyTorch's (``permute``, ``flatten``, ``unsqueeze``, ``repeat``); parameters
that name axes take NumPy's spelling (``axis``), as the reductions do. NumPy's other
spellings of these ops (``expand_dims``, ``swapaxes``, ``tile``, ...) are Tensor methods
that run the same op (see ``tensor.methods.ALIASES``). Pure shape computations are
cached, so a call costs little more than the NumPy work itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from .reduce import normalize_axis
from .registry import register

Shape = tuple[int, ...]


def _inverse(axes: tuple[int, ...] | None) -> tuple[int, ...] | None:
    """The permutation that undoes ``axes`` (None reverses every axis, its own inverse)."""
    if axes is None:
        return None
    inverse = [0] * len(axes)
    for i, a in enumerate(axes):
        inverse[a % len(axes)] = i
    return tuple(inverse)


def _tuple(value: Any) -> Any:
    """A list (or nested lists) as a tuple, so that it can key a cache."""
    if isinstance(value, (list, tuple)):
        return tuple(_tuple(v) for v in value)
    return value


def _ints(value: int | Sequence[int]) -> tuple[int, ...]:
    return (value,) if isinstance(value, int) else tuple(value)


# ----- Reshaping --------------------------------------------------------------------------


def _reshape_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    x = draw.array(draw.shape())
    target = draw.choice([(x.size,), (1, x.size), (x.size, 1), x.shape[::-1], (-1,)])
    return (x,), {"shape": target}


register(
    "reshape",
    forward=lambda x, ops, shape=(): ops.reshape(x, shape),
    grads=(lambda g, x, out, ops, shape=(): ops.reshape(g, x.shape),),
    elementwise=False,
    cases=_reshape_case,
    doc="the same elements in a new shape (one entry may be -1); Tensor.view is an alias",
)


@lru_cache(maxsize=1024)
def _flattened(shape: Shape, start_axis: int, end_axis: int) -> Shape:
    # NOTE: as in PyTorch, a 0-d tensor counts as 1-d here: it flattens to shape (1,).
    ndim = max(len(shape), 1)
    start = normalize_axis(start_axis, ndim, "start_axis")
    end = normalize_axis(end_axis, ndim, "end_axis")
    if start > end:
        raise ValueError(f"start_axis {start_axis} comes after end_axis {end_axis}")
    return (*shape[:start], math.prod(shape[start:end + 1]), *shape[end + 1:])


def _flatten_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    x = draw.array(draw.shape())
    ndim = max(x.ndim, 1)
    start = draw.integers(0, ndim - 1)
    end = draw.integers(start, ndim - 1)
    return (x,), {"start_axis": start - draw.choice([0, ndim]),
                  "end_axis": end - draw.choice([0, ndim])}


register(
    "flatten",
    forward=lambda x, ops, start_axis=0, end_axis=-1:
        ops.reshape(x, _flattened(x.shape, start_axis, end_axis)),
    grads=(lambda g, x, out, ops, start_axis=0, end_axis=-1: ops.reshape(g, x.shape),),
    elementwise=False,
    cases=_flatten_case,
    doc="axes start_axis..end_axis (inclusive) merged into one",
)


@lru_cache(maxsize=1024)
def _unflattened(shape: Shape, axis: int, sizes: Shape) -> Shape:
    a = normalize_axis(axis, len(shape))
    if not sizes:
        raise ValueError("sizes must name at least one axis")
    if sizes.count(-1) > 1 or any(n < -1 for n in sizes):
        raise ValueError(f"sizes {sizes} may hold one -1 and otherwise sizes >= 0")
    known = math.prod(n for n in sizes if n != -1)
    if -1 in sizes and known and shape[a] % known == 0:
        sizes = tuple(shape[a] // known if n == -1 else n for n in sizes)
    if math.prod(sizes) != shape[a]:
        raise ValueError(f"sizes {sizes} do not multiply to {shape[a]}, the length of "
                         f"axis {axis}")
    return (*shape[:a], *sizes, *shape[a + 1:])


def _unflatten_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    x = draw.array(draw.shape(min_dims=1))
    axis = draw.integers(-x.ndim, x.ndim - 1)
    n = x.shape[axis]
    return (x,), {"axis": axis, "sizes": draw.choice([(n,), (1, n), (n, 1), (-1, 1), (1, -1)])}


register(
    "unflatten",
    forward=lambda x, ops, axis=0, sizes=():
        ops.reshape(x, _unflattened(x.shape, axis, _tuple(sizes))),
    grads=(lambda g, x, out, ops, axis=0, sizes=(): ops.reshape(g, x.shape),),
    elementwise=False,
    cases=_unflatten_case,
    doc="axis split into axes of the given sizes (one may be -1); undoes flatten",
)


@lru_cache(maxsize=1024)
def _squeezed(shape: Shape, axis: int | tuple[int, ...] | None) -> Shape:
    if axis is None:
        return tuple(n for n in shape if n != 1)
    # NOTE: a 0-d tensor accepts axis 0 and -1, and an axis whose length is not 1 is
    # kept, as in PyTorch (NumPy raises for both).
    axes = {normalize_axis(a, max(len(shape), 1)) for a in _ints(axis)}
    return tuple(n for i, n in enumerate(shape) if n != 1 or i not in axes)


def _squeeze_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape = tuple(1 if draw.boolean() else n for n in draw.shape())
    return (draw.array(shape),), {"axis": draw.axis(len(shape))}


register(
    "squeeze",
    forward=lambda x, ops, axis=None: ops.reshape(x, _squeezed(x.shape, _tuple(axis))),
    grads=(lambda g, x, out, ops, axis=None: ops.reshape(g, x.shape),),
    elementwise=False,
    cases=_squeeze_case,
    doc="axes of length 1 removed: all of them, or those of axis (others are kept)",
)


@lru_cache(maxsize=1024)
def _unsqueezed(shape: Shape, axis: int) -> Shape:
    a = normalize_axis(axis, len(shape) + 1)
    return (*shape[:a], 1, *shape[a:])


def _unsqueeze_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    x = draw.array(draw.shape())
    return (x,), {"axis": draw.integers(-x.ndim - 1, x.ndim)}


register(
    "unsqueeze",
    forward=lambda x, ops, axis=0: ops.reshape(x, _unsqueezed(x.shape, axis)),
    grads=(lambda g, x, out, ops, axis=0: ops.reshape(g, x.shape),),
    elementwise=False,
    cases=_unsqueeze_case,
    doc="a new axis of length 1 at position axis (in the result); NumPy's expand_dims",
)

# ----- Permuting axes ---------------------------------------------------------------------


def _transpose_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    x = draw.array(draw.shape())
    axes = draw.choice([None, tuple(draw.permutation(range(x.ndim)))])
    return (x,), {"axes": axes}


register(
    "transpose",
    forward=lambda x, ops, axes=None: ops.transpose(x, axes),
    grads=(lambda g, x, out, ops, axes=None: ops.transpose(g, _inverse(axes)),),
    elementwise=False,
    cases=_transpose_case,
    doc="the axes permuted as NumPy's transpose (reversed when axes is None); the method "
        "also swaps two axes as PyTorch's: x.transpose(0, 1)",
)


@lru_cache(maxsize=1024)
def _permutation(ndim: int, axes: tuple[int, ...]) -> tuple[int, ...]:
    order = tuple(normalize_axis(a, ndim, "axes") for a in axes)
    if sorted(order) != list(range(ndim)):
        raise ValueError(f"axes {axes} are not a permutation of the {ndim} axes")
    return order


@lru_cache(maxsize=1024)
def swapped(ndim: int, axis0: int, axis1: int) -> tuple[int, ...]:
    """The permutation of ``ndim`` axes that swaps ``axis0`` and ``axis1``."""
    order = list(range(ndim))
    a, b = normalize_axis(axis0, ndim, "axis0"), normalize_axis(axis1, ndim, "axis1")
    order[a], order[b] = b, a
    return tuple(order)


def _permute_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    x = draw.array(draw.shape())
    axes = tuple(a - draw.choice([0, x.ndim]) for a in draw.permutation(range(x.ndim)))
    return (x,), {"axes": axes}


register(
    "permute",
    forward=lambda x, ops, axes=(): ops.transpose(x, _permutation(x.ndim, _tuple(axes))),
    grads=(lambda g, x, out, ops, axes=():
           ops.transpose(g, _inverse(_permutation(len(x.shape), _tuple(axes)))),),
    elementwise=False,
    cases=_permute_case,
    doc="the axes in the order given: x.permute(2, 0, 1)",
)


@lru_cache(maxsize=1024)
def _moved(ndim: int, source: Any, destination: Any) -> tuple[int, ...]:
    sources = [normalize_axis(a, ndim, "source") for a in _ints(source)]
    targets = [normalize_axis(a, ndim, "destination") for a in _ints(destination)]
    if len(sources) != len(targets):
        raise ValueError(f"source {source} and destination {destination} need as many axes")
    if len(set(sources)) < len(sources) or len(set(targets)) < len(targets):
        raise ValueError(f"source {source} and destination {destination} repeat an axis")
    order = [a for a in range(ndim) if a not in sources]
    for target, a in sorted(zip(targets, sources)):
        order.insert(target, a)
    return tuple(order)


def _moveaxis_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    x = draw.array(draw.shape(min_dims=1))
    k = draw.integers(1, x.ndim)
    source = tuple(draw.permutation(range(x.ndim))[:k])
    destination = tuple(draw.permutation(range(x.ndim))[:k])
    if k == 1 and draw.boolean():
        return (x,), {"source": source[0], "destination": destination[0] - x.ndim}
    return (x,), {"source": source, "destination": destination}


register(
    "moveaxis",
    forward=lambda x, ops, source=0, destination=0:
        ops.transpose(x, _moved(x.ndim, _tuple(source), _tuple(destination))),
    grads=(lambda g, x, out, ops, source=0, destination=0:
           ops.transpose(g, _inverse(_moved(len(x.shape), _tuple(source),
                                            _tuple(destination)))),),
    elementwise=False,
    cases=_moveaxis_case,
    doc="axes source moved to positions destination, the others keeping their order "
        "(PyTorch's movedim)",
)

# ----- Broadcasting -----------------------------------------------------------------------


def _smaller_and_larger(draw: Any) -> tuple[Shape, Shape]:
    """A shape and one it broadcasts to (some axes 1 or missing in the smaller)."""
    large = draw.shape()
    keep = draw.integers(0, len(large))
    small = tuple(1 if draw.boolean() else n for n in large[len(large) - keep:])
    return small, large


def _broadcast_to_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    small, large = _smaller_and_larger(draw)
    return (draw.array(small),), {"shape": large}


def _sum_to_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    small, large = _smaller_and_larger(draw)
    return (draw.array(large),), {"shape": small}


register(
    "broadcast_to",
    forward=lambda x, ops, shape=(): ops.broadcast_to(x, shape),
    grads=(lambda g, x, out, ops, shape=(): ops.sum_to(g, x.shape),),
    elementwise=False,
    cases=_broadcast_to_case,
    doc="x repeated along new leading or length-1 axes to shape, without copying; "
        "Tensor.expand is this op with PyTorch's -1 (keep this axis)",
)

register(
    "sum_to",
    forward=lambda x, ops, shape=(): ops.sum_to(x, shape),
    grads=(lambda g, x, out, ops, shape=(): ops.broadcast_to(g, x.shape),),
    elementwise=False,
    cases=_sum_to_case,
    doc="x summed down to shape, undoing a broadcast (the adjoint of broadcast_to)",
)


@lru_cache(maxsize=1024)
def _repeat_plan(shape: Shape, repeats: Shape) -> tuple[Shape, Shape, Shape, Shape]:
    """repeat as reshape, broadcast, reshape: (2, 3) by (4, 5) goes (1, 2, 1, 3) ->
    (4, 2, 5, 3) -> (8, 15). Returns those three shapes and the axes the gradient sums."""
    if len(repeats) < len(shape):
        raise ValueError(f"repeats {repeats} needs an entry for each of the {len(shape)} "
                         "axes (Tensor.tile pads it with ones)")
    if any(r < 0 for r in repeats):
        raise ValueError(f"repeats {repeats} must not be negative")
    shape = (1,) * (len(repeats) - len(shape)) + shape
    lifted = tuple(k for n in shape for k in (1, n))
    spread = tuple(k for r, n in zip(repeats, shape) for k in (r, n))
    final = tuple(r * n for r, n in zip(repeats, shape))
    return lifted, spread, final, tuple(range(0, 2 * len(shape), 2))


def _repeat_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    x = draw.array(draw.shape(max_side=3))
    extra = draw.integers(0, 1)
    return (x,), {"repeats": tuple(draw.integers(0, 2) for _ in range(x.ndim + extra))}


def _repeat(x: Any, ops: Any, repeats: Shape = ()) -> Any:
    lifted, spread, final, _ = _repeat_plan(x.shape, _tuple(repeats))
    return ops.reshape(ops.broadcast_to(ops.reshape(x, lifted), spread), final)


def _repeat_grad(g: Any, x: Any, out: Any, ops: Any, repeats: Shape = ()) -> Any:
    _, spread, _, copies = _repeat_plan(tuple(x.shape), _tuple(repeats))
    return ops.reshape(ops.sum(ops.reshape(g, spread), copies), x.shape)


register(
    "repeat",
    forward=_repeat,
    grads=(_repeat_grad,),
    elementwise=False,
    cases=_repeat_case,
    doc="x tiled repeats[i] times along axis i (new leading axes for extra entries), as "
        "PyTorch's repeat and NumPy's tile",
)

# ----- Reordering elements ----------------------------------------------------------------


def _flip_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    x = draw.array(draw.shape())
    return (x,), {"axis": draw.axis(x.ndim)}


register(
    "flip",
    forward=lambda x, ops, axis=None: ops.flip(x, axis),
    grads=(lambda g, x, out, ops, axis=None: ops.flip(g, axis),),
    elementwise=False,
    cases=_flip_case,
    doc="the order of the elements along axis reversed (every axis when None)",
)


def _negated(shifts: int | Sequence[int]) -> int | tuple[int, ...]:
    return -shifts if isinstance(shifts, int) else tuple(-s for s in shifts)


def _roll_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    x = draw.array(draw.shape())
    axis = draw.axis(x.ndim)
    if isinstance(axis, tuple):
        return (x,), {"shifts": tuple(draw.integers(-5, 5) for _ in axis), "axis": axis}
    return (x,), {"shifts": draw.integers(-5, 5), "axis": axis}


register(
    "roll",
    forward=lambda x, ops, shifts=0, axis=None: ops.roll(x, shifts, axis),
    grads=(lambda g, x, out, ops, shifts=0, axis=None: ops.roll(g, _negated(shifts), axis),),
    elementwise=False,
    cases=_roll_case,
    doc="elements shifted cyclically by shifts along axis (None: over the flattened x)",
)

# ----- Indexing ---------------------------------------------------------------------------


def repeats_possible(index: Any) -> bool:
    """Whether ``index`` holds an integer array, which may pick one element twice."""
    for part in index if type(index) is tuple else (index,):
        if type(part) is np.ndarray and part.dtype.kind in "iu":
            return True
    return False


def _getitem_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape = draw.shape()
    return (draw.array(shape),), {"index": draw.index(shape)}


def _scatter_to_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape = draw.shape()
    index = draw.index(shape)
    picked = np.zeros(shape)[index].shape
    return (draw.array(picked),), {"shape": shape, "index": index,
                                   "accumulate": repeats_possible(index)}


register(
    "getitem",
    forward=lambda x, ops, index=(): ops.getitem(x, index),
    # NOTE: an integer array may pick one element several times; its gradient adds up.
    grads=(lambda g, x, out, ops, index=():
           ops.scatter_to(g, x.shape, index, repeats_possible(index)),),
    elementwise=False,
    cases=_getitem_case,
    doc="x[index]: slices, integers, None, Ellipsis, boolean masks and integer arrays",
)

register(
    "scatter_to",
    forward=lambda x, ops, shape=(), index=(), accumulate=True:
        ops.scatter_to(x, shape, index, accumulate),
    grads=(lambda g, x, out, ops, shape=(), index=(), accumulate=True: ops.getitem(g, index),),
    elementwise=False,
    cases=_scatter_to_case,
    doc="zeros(shape) with x added at index (the adjoint of x[index])",
)


@lru_cache(maxsize=256)
def _gather_grid(shape: Shape, axis: int) -> tuple[Any, ...]:
    """An index for an array of ``shape`` picking each element itself, with a slot for
    the gathering axis: ``aranges`` shaped to broadcast against each other."""
    grid: list[Any] = []
    for d, n in enumerate(shape):
        if d == axis:
            grid.append(None)
            continue
        positions = np.arange(n).reshape([n if k == d else 1 for k in range(len(shape))])
        positions.flags.writeable = False
        grid.append(positions)
    return tuple(grid)


def _index_array(index: Any) -> Any:
    """An op's index input as an array: under create_graph it arrives as a Tensor."""
    return getattr(index, "_data", index)


def _gather_index(x_shape: Shape, index: Any, axis: int) -> tuple[Any, ...]:
    """``index`` (the shape of the result) as a NumPy index into an array of ``x_shape``:
    result[i, j] = x[index[i, j], j] along axis 0, and so on."""
    index = _index_array(index)
    a = normalize_axis(axis, len(x_shape))
    if index.dtype.kind not in "iu":
        raise TypeError(f"index must hold integers, got dtype {index.dtype}")
    if index.ndim != len(x_shape):
        raise ValueError(f"index has {index.ndim} dimension(s), the input {len(x_shape)}")
    if any(m > n for d, (m, n) in enumerate(zip(index.shape, x_shape)) if d != a):
        raise ValueError(f"index of shape {index.shape} is larger than the input "
                         f"{x_shape} outside axis {axis}")
    # NOTE: as in PyTorch (and unlike NumPy), negative indices are out of range.
    if index.size and not 0 <= index.min() <= index.max() < x_shape[a]:
        raise IndexError(f"index holds values outside [0, {x_shape[a]}) for axis {axis}")
    grid = _gather_grid(index.shape, a)
    return (*grid[:a], index, *grid[a + 1:])


def _int_array(draw: Any, shape: Shape, low: int, high: int) -> np.ndarray:
    """An int64 array of ``shape`` with elements in [low, high]."""
    values = [draw.integers(low, high) for _ in range(math.prod(shape))]
    return np.array(values, dtype=np.int64).reshape(shape)


def _gather_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    x = draw.array(draw.shape(min_dims=1))
    axis = draw.integers(-x.ndim, x.ndim - 1)
    shape = tuple(draw.integers(1, 4) if d == axis % x.ndim else draw.integers(1, n)
                  for d, n in enumerate(x.shape))
    return (x, _int_array(draw, shape, 0, x.shape[axis] - 1)), {"axis": axis}


register(
    "gather",
    forward=lambda x, index, ops, axis=0: ops.getitem(x, _gather_index(x.shape, index, axis)),
    # NOTE: an index may name an element several times; its gradient adds up.
    grads=(lambda g, x, index, out, ops, axis=0:
           ops.scatter_to(g, x.shape, _gather_index(x.shape, index, axis), True),
           None),
    elementwise=False,
    cases=_gather_case,
    doc="elements picked along axis by an integer index of the result's shape: "
        "out[i][j] = x[index[i][j]][j] for axis 0; the method is x.gather(axis, index)",
)


def _embedding(indices: Any, weight: Any, ops: Any) -> Any:
    if indices.dtype.kind not in "iu":
        raise TypeError(f"indices must be integers, got dtype {indices.dtype}")
    rows = weight.shape[0]
    # Checked here, in the op, so that every replay of a recorded step checks its batch
    # too. As in PyTorch (and unlike NumPy), a negative index is out of range.
    if indices.size and (ops.min(indices) < 0 or ops.max(indices) >= rows):
        raise IndexError(f"indices must lie in [0, {rows}), got "
                         f"{ops.min(indices)}...{ops.max(indices)}")
    return ops.getitem(weight, indices)


def _embedding_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    rows, width = draw.integers(1, 4), draw.integers(1, 3)
    indices = _int_array(draw, draw.shape(max_dims=2), 0, rows - 1)
    return (indices, draw.array((rows, width))), {}


register(
    "embedding",
    forward=_embedding,
    # NOTE: a row picked several times adds up its gradients.
    grads=(None, lambda g, indices, weight, out, ops:
           ops.scatter_to(g, weight.shape, _index_array(indices), True)),
    elementwise=False,
    method=False,
    cases=_embedding_case,
    doc="rows of weight (num_embeddings, dim) picked by integer indices of any shape: "
        "(*indices.shape, dim), as PyTorch's F.embedding(indices, weight)",
)


def _masked_fill(x: Any, mask: Any, ops: Any, value: float = 0.0) -> Any:
    if mask.dtype != np.bool_:
        raise TypeError(f"mask must be boolean, got dtype {mask.dtype}")
    try:
        fits = np.broadcast_shapes(mask.shape, x.shape) == x.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"mask of shape {mask.shape} does not broadcast to the input's "
                         f"shape {x.shape}")
    return ops.where(mask, value, x)


def _masked_fill_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape, mask_shape = _smaller_and_larger(draw)[::-1]
    return (draw.array(shape), draw.mask(mask_shape)), \
        {"value": draw.choice([0.0, draw.floats(-3.0, 3.0)])}  # -inf: by hand


register(
    "masked_fill",
    forward=_masked_fill,
    grads=(lambda g, x, mask, out, ops, value=0.0: ops.where(mask, 0.0, g), None),
    elementwise=False,
    cases=_masked_fill_case,
    doc="x with value where the boolean mask (broadcast to x's shape) holds",
)


@lru_cache(maxsize=64)
def _classes(n: int) -> np.ndarray:
    classes = np.arange(n)
    classes.flags.writeable = False
    return classes


def _one_hot(x: Any, ops: Any, num_classes: int = -1) -> Any:
    if x.dtype.kind not in "iu":
        raise TypeError(f"x must hold integer class indices, got dtype {x.dtype}")
    if num_classes < 0:
        if not x.size:
            raise ValueError("num_classes cannot be inferred from an empty tensor")
        num_classes = int(ops.max(x)) + 1
    if x.size and not 0 <= int(ops.min(x)) <= int(ops.max(x)) < num_classes:
        raise ValueError(f"class indices must lie in [0, {num_classes}) (num_classes)")
    return ops.astype(ops.reshape(x, (*x.shape, 1)) == _classes(num_classes), np.int64)


register(
    "one_hot",
    forward=_one_hot,
    elementwise=False,
    cases=lambda draw: ((_int_array(draw, draw.shape(), 0, 3),),
                        {"num_classes": draw.choice([-1, 4, 6])}),
    doc="int64 indicators, x's shape plus an axis of num_classes (default: max(x) + 1)",
)


@lru_cache(maxsize=64)
def _triangle(n: int, m: int, diagonal: int, lower: bool) -> np.ndarray:
    """The (n, m) boolean mask of the elements tril (or triu) keeps."""
    mask = np.tri(n, m, diagonal, dtype=bool) if lower else ~np.tri(n, m, diagonal - 1,
                                                                     dtype=bool)
    mask.flags.writeable = False
    return mask


def _triangle_mask(shape: Shape, diagonal: int, lower: bool) -> np.ndarray:
    if len(shape) < 2:
        raise ValueError(f"needs a matrix (2 or more dimensions), got shape {shape}")
    return _triangle(shape[-2], shape[-1], diagonal, lower)


def _triangle_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return (draw.array(draw.shape(min_dims=2)),), {"diagonal": draw.integers(-2, 2)}


# NOTE: tril and triu select with where, not a 0/1 multiply: an inf or NaN outside the
# triangle gives 0, as in PyTorch, not NaN.
register(
    "tril",
    forward=lambda x, ops, diagonal=0: ops.where(_triangle_mask(x.shape, diagonal, True), x, 0),
    grads=(lambda g, x, out, ops, diagonal=0:
           ops.where(_triangle_mask(x.shape, diagonal, True), g, 0.0),),
    elementwise=False,
    cases=_triangle_case,
    doc="the lower triangle of the last two axes (j <= i + diagonal), zeros above",
)

register(
    "triu",
    forward=lambda x, ops, diagonal=0: ops.where(_triangle_mask(x.shape, diagonal, False), x,
                                                 0),
    grads=(lambda g, x, out, ops, diagonal=0:
           ops.where(_triangle_mask(x.shape, diagonal, False), g, 0.0),),
    elementwise=False,
    cases=_triangle_case,
    doc="the upper triangle of the last two axes (j >= i + diagonal), zeros below",
)


@lru_cache(maxsize=256)
def _diagonal_plan(shape: Shape, offset: int, axis1: int, axis2: int
                   ) -> tuple[tuple[int, ...], Shape, tuple[Any, ...]]:
    """diagonal as: move axis1 and axis2 to the end, then pick [..., rows, cols]. Returns
    the permutation, the shape it gives and the index."""
    ndim = len(shape)
    if ndim < 2:
        raise ValueError(f"needs 2 or more dimensions, got shape {shape}")
    a, b = normalize_axis(axis1, ndim, "axis1"), normalize_axis(axis2, ndim, "axis2")
    if a == b:
        raise ValueError(f"axis1 and axis2 are the same axis ({axis1}, {axis2})")
    order = (*(k for k in range(ndim) if k not in (a, b)), a, b)
    first = max(-offset, 0)  # the first row on the diagonal
    length = max(0, min(shape[a] - first, shape[b] - first - offset))
    rows = np.arange(first, first + length)
    cols = rows + offset
    rows.flags.writeable = cols.flags.writeable = False
    return order, tuple(shape[k] for k in order), (Ellipsis, rows, cols)


def _diagonal(x: Any, ops: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    order, _, index = _diagonal_plan(x.shape, offset, axis1, axis2)
    return ops.getitem(ops.transpose(x, order), index)


def _diagonal_grad(g: Any, x: Any, out: Any, ops: Any, offset: int = 0, axis1: int = 0,
                   axis2: int = 1) -> Any:
    order, moved, index = _diagonal_plan(tuple(x.shape), offset, axis1, axis2)
    return ops.transpose(ops.scatter_to(g, moved, index, False), _inverse(order))


def _diagonal_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    x = draw.array(draw.shape(min_dims=2))
    axis1, axis2 = draw.permutation(range(x.ndim))[:2]
    return (x,), {"offset": draw.integers(-2, 2), "axis1": axis1, "axis2": axis2 - x.ndim}


register(
    "diagonal",
    forward=_diagonal,
    grads=(_diagonal_grad,),
    elementwise=False,
    cases=_diagonal_case,
    doc="the diagonal x[..., i, i + offset] of axes axis1 and axis2, as a last axis",
)

# ----- Joining and splitting --------------------------------------------------------------


def _concatenate_grad(g: Any, *xs: Any, out: Any, ops: Any, i: int, axis: int = 0) -> Any:
    # Input i's gradient is its own slice of g along the joined axis.
    axis %= len(out.shape)
    start = sum(x.shape[axis] for x in xs[:i])
    part = slice(start, start + xs[i].shape[axis])
    return ops.getitem(g, (slice(None),) * axis + (part,))


def _concatenate_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape = draw.shape(min_dims=1)
    axis = draw.integers(-len(shape), len(shape) - 1)
    at = axis % len(shape)
    sizes = [draw.integers(1, 3) for _ in range(draw.integers(1, 3))]
    parts = [(*shape[:at], k, *shape[at + 1:]) for k in sizes]
    return tuple(draw.array(p) for p in parts), {"axis": axis}


register(
    "concatenate",
    forward=lambda *xs, ops, axis=0: ops.concatenate(xs, axis),
    grads=_concatenate_grad,
    elementwise=False,
    method=False,
    cases=_concatenate_case,
    doc="tensors joined along an existing axis (PyTorch's cat)",
)


def _stack_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape = draw.shape()
    axis = draw.integers(-len(shape) - 1, len(shape))
    return tuple(draw.array(shape) for _ in range(draw.integers(1, 3))), {"axis": axis}


register(
    "stack",
    forward=lambda *xs, ops, axis=0: ops.stack(xs, axis),
    grads=lambda g, *xs, out, ops, i, axis=0:
        ops.getitem(g, (slice(None),) * (axis % len(out.shape)) + (i,)),
    elementwise=False,
    method=False,
    cases=_stack_case,
    doc="same-shape tensors joined along a new axis",
)


@lru_cache(maxsize=1024)
def _pieces(shape: Shape, split_size: int | tuple[int, ...], axis: int) -> tuple[Any, ...]:
    """The index of each piece of ``split``."""
    a = normalize_axis(axis, len(shape))
    n = shape[a]
    if isinstance(split_size, int):
        if split_size < 0 or (split_size == 0 and n):
            raise ValueError(f"split_size must be positive, got {split_size}")
        sizes = [min(split_size, n - start) for start in range(0, n, split_size or 1)] or [0]
    else:
        sizes = list(split_size)
        if sum(sizes) != n or any(k < 0 for k in sizes):
            raise ValueError(f"split_size {split_size} does not add up to {n}, the length "
                             f"of axis {axis}")
    starts = np.cumsum([0, *sizes]).tolist()
    return tuple((slice(None),) * a + (slice(start, start + k),)
                 for start, k in zip(starts, sizes))


def _split_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    x = draw.array(draw.shape(min_dims=1))
    axis = draw.integers(-x.ndim, x.ndim - 1)
    n = x.shape[axis]
    cut = draw.integers(0, n)
    return (x,), {"split_size": draw.choice([draw.integers(1, n + 1), (cut, n - cut)]),
                  "axis": axis}


def _split(x: Any, ops: Any, split_size: int | Sequence[int] = 1, axis: int = 0
           ) -> tuple[Any, ...]:
    try:
        pieces = _pieces(x.shape, _tuple(split_size), axis)
    except ValueError as error:  # a composite op's errors are its own to name
        raise type(error)(f"split: {error}") from None
    return tuple(ops.getitem(x, index) for index in pieces)


register(
    "split",
    forward=_split,
    composite=True,  # a tuple of x[index] results: the gradient flows through getitem
    elementwise=False,
    cases=_split_case,
    doc="a tuple of pieces along axis: of length split_size each (the last may be "
        "shorter), or of the lengths in a list",
)


@lru_cache(maxsize=1024)
def _chunk_size(length: int, chunks: int) -> int:
    if chunks < 1:
        raise ValueError(f"chunks must be at least 1, got {chunks}")
    return -(-length // chunks)  # ceil(length / chunks)


def _chunk_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    x = draw.array(draw.shape(min_dims=1))
    return (x,), {"chunks": draw.integers(1, 5), "axis": draw.integers(-x.ndim, x.ndim - 1)}


def _chunk(x: Any, ops: Any, chunks: int = 1, axis: int = 0) -> tuple[Any, ...]:
    try:
        size = _chunk_size(x.shape[normalize_axis(axis, len(x.shape))], chunks)
    except ValueError as error:
        raise type(error)(f"chunk: {error}") from None
    return ops.split(x, split_size=size, axis=axis)


register(
    "chunk",
    forward=_chunk,
    composite=True,
    elementwise=False,
    cases=_chunk_case,
    doc="a tuple of at most chunks pieces along axis, all of length ceil(n / chunks) but "
        "the last, as in PyTorch",
)

# ----- Padding ----------------------------------------------------------------------------

_MODES = ("constant", "reflect", "replicate", "circular")


def _widths(shape: Shape, pad: tuple[int, ...]) -> list[tuple[int, int]]:
    """PyTorch's pad, (before, after) for the last axis, then the one before it, ...,
    as (before, after) for every axis in order."""
    if len(pad) % 2 or len(pad) // 2 > len(shape):
        raise ValueError(f"pad {pad} must hold (before, after) pairs for at most the "
                         f"{len(shape)} axes, last axis first")
    widths = [(0, 0)] * len(shape)
    for k in range(len(pad) // 2):
        widths[len(shape) - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    return widths


@lru_cache(maxsize=256)
def _constant_plan(shape: Shape, pad: tuple[int, ...]) -> tuple[Any, Shape, Any]:
    """Constant padding as: crop (negative widths), then place into a larger array.
    Returns the crop index (None if nothing is cropped), the padded shape and where
    the cropped x sits in it."""
    crop, place, padded = [], [], []
    for n, (before, after) in zip(shape, _widths(shape, pad)):
        start, stop = max(-before, 0), n - max(-after, 0)
        if stop < start:
            raise ValueError(f"pad {pad} crops more than the {n} elements of an axis")
        crop.append(slice(start, stop))
        place.append(slice(max(before, 0), max(before, 0) + stop - start))
        padded.append(max(before, 0) + stop - start + max(after, 0))
    cropped = any(s.start or s.stop != n for s, n in zip(crop, shape))
    return tuple(crop) if cropped else None, tuple(padded), tuple(place)


@lru_cache(maxsize=256)
def _source_index(shape: Shape, pad: tuple[int, ...], mode: str) -> tuple[Any, ...]:
    """For reflect, replicate and circular padding, the index of x that gives the padded
    array: for each axis, the position in x each padded position copies."""
    widths = _widths(shape, pad)
    first = next(d for d, w in enumerate(widths) if w != (0, 0))
    index: list[Any] = [slice(None)] * first
    padded_axes = len(shape) - first
    for d in range(first, len(shape)):
        (before, after), n = widths[d], shape[d]
        if before < 0 or after < 0:
            raise ValueError(f"pad {pad}: {mode} padding cannot crop (negative widths)")
        limit = n - 1 if mode == "reflect" else n
        if (before or after) and (max(before, after) > limit or not n):
            raise ValueError(f"pad {pad}: {mode} padding of an axis of length {n} must be at "
                             f"most {limit}")
        at: np.ndarray = np.arange(-before, n + after)
        if mode == "reflect":  # mirrored at the edges, which are not repeated
            at = np.where(at < 0, -at, np.where(at >= n, 2 * (n - 1) - at, at))
        elif mode == "replicate":
            at = np.clip(at, 0, n - 1)
        else:
            at = at % n
        # Outer indexing over the padded axes (adjacent, so NumPy keeps them in place).
        at = at.reshape([-1 if k == d - first else 1 for k in range(padded_axes)])
        at.flags.writeable = False
        index.append(at)
    return tuple(index)


def _pad(x: Any, ops: Any, pad: tuple[int, ...] = (), mode: str = "constant",
         value: float = 0.0) -> Any:
    pad = _tuple(pad)
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {', '.join(_MODES)}, got {mode!r}")
    if mode != "constant":
        if not any(pad):
            _widths(x.shape, pad)  # still checks the widths
            return x
        return ops.getitem(x, _source_index(x.shape, pad, mode))
    crop, padded, place = _constant_plan(x.shape, pad)
    if crop is not None:
        x = ops.getitem(x, crop)
    inner = ops.scatter_to(x, padded, place, False)  # zeros around x
    if value == 0:
        return inner
    return ops.where(ops.scatter_to(ops.ones_like(x), padded, place, False) > 0, inner, value)


def _pad_grad(g: Any, x: Any, out: Any, ops: Any, pad: tuple[int, ...] = (),
              mode: str = "constant", value: float = 0.0) -> Any:
    pad = _tuple(pad)
    if mode != "constant":
        if not any(pad):
            return g
        # NOTE: a padded position copies an element of x: its gradient adds to that one.
        return ops.scatter_to(g, x.shape, _source_index(tuple(x.shape), pad, mode), True)
    crop, _, place = _constant_plan(tuple(x.shape), pad)
    inner = ops.getitem(g, place)
    return inner if crop is None else ops.scatter_to(inner, x.shape, crop, False)


def _pad_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    x = draw.array(draw.shape(min_dims=1))
    mode = draw.choice(_MODES)
    axes = draw.integers(1, x.ndim)
    pad: list[int] = []
    for n in reversed(x.shape[x.ndim - axes:]):
        if mode == "constant":
            pad += [draw.integers(-(n // 2), 2), draw.integers(-(n // 2), 2)]
        else:
            limit = n - 1 if mode == "reflect" else n
            pad += [draw.integers(0, limit), draw.integers(0, limit)]
    return (x,), {"pad": tuple(pad), "mode": mode,
                  "value": draw.choice([0.0, draw.floats(-2.0, 2.0)])}


register(
    "pad",
    forward=_pad,
    grads=(_pad_grad,),
    elementwise=False,
    cases=_pad_case,
    doc="x padded as PyTorch's F.pad: pad = (before, after) for the last axis, then the "
        "one before it, ...; mode constant (value; negative widths crop), reflect "
        "(mirrored, edge excluded), replicate or circular",
)

# ----- Casting ----------------------------------------------------------------------------


def _astype_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any], dict[str, float]]:
    # Through float32: a float32 rounding step is ~1e-7 relative, so a wider finite
    # difference (and tolerance) is needed to see the slope through it.
    return (draw.array(draw.shape()),), {"dtype": np.float32}, \
        {"eps": 1e-3, "atol": 1e-3, "rtol": 1e-3}


register(
    "astype",
    forward=lambda x, ops, dtype=np.float32: ops.astype(x, dtype),
    # Between floating dtypes the slope is 1; an integer result carries no gradient.
    grads=(lambda g, x, out, ops, dtype=np.float32: ops.astype(g, x.dtype),),
    elementwise=False,
    cases=_astype_case,
    doc="the data cast to dtype",
)
