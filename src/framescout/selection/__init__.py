"""Batch selection: pick what to label next from a pool of unlabelled items."""

from framescout.selection.kcenter import kcenter_greedy
from framescout.selection.pool import Pool, SelectionError
from framescout.selection.strategies import STRATEGIES, Strategy, select

__all__ = ["STRATEGIES", "Pool", "SelectionError", "Strategy", "kcenter_greedy", "select"]
