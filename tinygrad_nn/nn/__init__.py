"""Neural networks on both engines: layers, losses, utilities and training diagnostics."""

from . import diagnostics, functional, utils
from . import functional as losses
from .conv import AvgPool2d, Conv2d, MaxPool2d
from .layers import (
    MLP,
    Activation,
    BatchNorm1d,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    LayerNorm,
    Linear,
    Maxout,
    Neuron,
    PReLU,
    Sequential,
)
from .module import Module

__all__ = [
    "MLP",
    "Activation",
    "AvgPool2d",
    "BatchNorm1d",
    "Conv2d",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "Identity",
    "LayerNorm",
    "Linear",
    "MaxPool2d",
    "Maxout",
    "Module",
    "Neuron",
    "PReLU",
    "Sequential",
    "diagnostics",
    "functional",
    "losses",
    "utils",
]
