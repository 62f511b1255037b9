"""Neural networks on both engines: layers, losses and training diagnostics."""

from . import diagnostics, functional
from . import functional as losses
from .layers import MLP, Dense, Maxout, Neuron, PReLU, Sequential
from .module import Module

__all__ = [
    "MLP",
    "Dense",
    "Maxout",
    "Module",
    "Neuron",
    "PReLU",
    "Sequential",
    "diagnostics",
    "functional",
    "losses",
]
