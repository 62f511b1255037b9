"""Optimizers (SGD, RMSprop, Adam, AdamW) and learning-rate schedules (``lr_scheduler``).

PyTorch's update rules, parameter groups and schedules, on Values and Tensors alike::

    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=20)
"""

from . import lr_scheduler
from .optimizer import Optimizer
from .optimizers import SGD, Adam, AdamW, RMSprop

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
