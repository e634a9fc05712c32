"""What a task hands the driver (`rmft_jax.training.driver`): its compiled iteration, state, evaluation, report.

It lives in core so that a task file can build one without importing the training layer above it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax


@dataclasses.dataclass
class Run:
    """A task's run, built from a validated config: what the driver iterates and how it reports.

    iteration: jitted iteration(params, opt_state, key) -> (params, opt_state, metrics with 'finite').
    evaluate: params -> dict of floats with 'eval_regret' (held-out), every eval.every iterations.
    report: (initial params, final params, history) -> (results dict, write_figures(workdir) or None).
    place: puts restored (params, opt_state) where the iteration expects them (a device mesh).
    """

    iteration: Callable
    params: Any
    opt_state: Any
    key_train: jax.Array
    evaluate: Callable[[Any], dict]
    report: Callable[[Any, Any, list], tuple[dict, Callable[[str], None] | None]] | None = None
    place: Callable[[Any], Any] = lambda tree: tree
