"""Iterative RMFT's outer iteration, written once for every decision problem (a task):

    rollout (L per scenario) -> score (regret | reward | random) -> keep k per scenario -> update (SFT)

A task (`rmft_jax.tasks`) supplies what differs between decision problems: how scenarios are drawn
and played (`rollout`), and what the update imitates given the kept rollouts (`sft_batch`). The
selection rule and the update rule are the loop's; `make_iteration` is the whole iteration.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from rmft_jax.core import selection


class Rollouts(NamedTuple):
    """One iteration's rollouts: each one's regret and reward (M, L), and the task's data for its SFT batch."""

    regret_MxL: jax.Array
    reward_MxL: jax.Array
    data: Any


class SFTBatch(NamedTuple):
    """What the update imitates: inputs (B, T, D), targets (B, T, A), per-row weights (B,) or None (all equal)."""

    inputs_BxTxD: jax.Array
    targets_BxTxA: jax.Array
    weights_B: jax.Array | None


class Task(Protocol):
    """A decision problem as RMFT sees it (pure functions of arrays; static settings live on the task)."""

    def rollout(self, params: Any, key_env: jax.Array, key_roll: jax.Array) -> Rollouts:
        """Draw M scenarios from key_env and play L rollouts of each with the model (randomness from key_roll)."""

    def sft_batch(self, rollouts: Rollouts, keep_Mxk: jax.Array) -> SFTBatch:
        """The update's batch from the kept rollouts (indices (M, k) into each scenario's L)."""

    def apply(self, params: Any, inputs_BxTxD: jax.Array) -> jax.Array:
        """The model's logits (B, T, A) on a batch's inputs (one causal pass)."""

    def shard(self, x: jax.Array) -> jax.Array:
        """A placement hint for per-scenario arrays (identity without a device mesh)."""


@dataclasses.dataclass(frozen=True)
class LoopSettings:
    """The loop's own static settings: the selection rule, k, and the SFT steps and temperature."""

    selection: str = "regret"
    num_selected: int = 1
    sft_steps: int = 50
    temperature: float = 1.0


class Phases(NamedTuple):
    """The phases of one iteration as pure (unjitted) functions; `make_iteration` composes them.

    rollout(params, key_env, key_roll) -> Rollouts
    select(rollouts, key_select) -> (keep_Mxk, SFTBatch)
    update(params, opt_state, batch) -> (params, opt_state, losses (sft_steps,))
    """

    rollout: Callable
    select: Callable
    update: Callable


def tree_is_finite(tree: Any) -> jax.Array:
    """True when every leaf of `tree` is finite (one scalar, computed on device)."""
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.array(True)


def make_phases(task: Task, update: Callable, loop: LoopSettings, select: Callable | None = None) -> Phases:
    """The rollout, selection and update phases of `task` under the loop's settings.

    `select(rollouts, key) -> (keep_Mxk, batch)` replaces the default (keep the top k by `loop.selection`,
    the task's SFT batch): other paradigms keep every rollout and build another batch (`core.paradigms`).
    """

    def select_top_k(rolls: Rollouts, key_select: jax.Array):
        scores_MxL = selection.selection_scores(loop.selection, rolls.regret_MxL, rolls.reward_MxL, key_select)
        keep_Mxk = task.shard(selection.top_k_indices(task.shard(scores_MxL), loop.num_selected))
        return keep_Mxk, task.sft_batch(rolls, keep_Mxk)

    return Phases(task.rollout, select or select_top_k, update)


def make_iteration(task: Task, update: Callable, loop: LoopSettings, select: Callable | None = None) -> Callable:
    """Unjitted iteration(params, opt_state, key) -> (params, opt_state, metrics): the whole of Iterative RMFT
    (and, with another `update` and `select`, of the other paradigms: `core.paradigms`)."""
    phases = make_phases(task, update, loop, select)

    def iteration(params, opt_state, key):
        key_env, key_roll, key_select = jax.random.split(key, 3)
        rolls = phases.rollout(params, key_env, key_roll)
        keep_Mxk, batch = phases.select(rolls, key_select)
        params, opt_state, losses = phases.update(params, opt_state, batch)
        metrics = {
            "rollout_regret": jnp.mean(rolls.regret_MxL),
            "selected_regret": jnp.mean(selection.gather_rollouts(rolls.regret_MxL, keep_Mxk)),
            "sft_loss_first": losses[0] if loop.sft_steps else jnp.nan,
            "sft_loss": losses[-1] if loop.sft_steps else jnp.nan,
            "finite": tree_is_finite((params, losses)),
        }
        return params, opt_state, metrics

    return iteration
