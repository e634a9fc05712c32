"""Iterative RMFT on FOL as pure functions: one outer iteration is one compiled call.

    draw M scenarios -> L rollouts each -> regret -> keep k per scenario -> SFT steps

`FOLSettings` holds the static (hashable) numbers pulled out of a config; `make_iteration` and
`make_evaluate` close over them and over the model's graphdef and return jitted functions of
(params, opt_state, key) and (params, held-out rewards).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import flax.nnx as nnx
import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh

from rmft_jax import _checks, envs, models, parallel, regret, rollout, selection, sft


@dataclasses.dataclass(frozen=True)
class FOLSettings:
    """Static settings of one RMFT run on FOL (plain Python values, safe to close over in jit)."""

    horizon: int
    num_actions: int
    num_scenarios: int
    num_rollouts: int
    num_selected: int
    selection: str = "regret"
    exploration: str = "sample"
    temperature: float = 1.0
    noise_std: float = 1.0
    target: str = "actions"
    sft_steps: int = 50

    @classmethod
    def from_config(cls, cfg: Any) -> "FOLSettings":
        """Pull the static numbers out of an ml_collections config (validated separately)."""
        r = cfg.rmft
        return cls(horizon=cfg.env.horizon, num_actions=cfg.env.num_actions, num_scenarios=r.num_scenarios,
                   num_rollouts=r.num_rollouts, num_selected=r.num_selected, selection=r.selection,
                   exploration=r.exploration, temperature=float(r.temperature), noise_std=float(r.noise_std),
                   target=cfg.sft.target, sft_steps=cfg.sft.num_steps)


def validate_config(cfg: Any) -> None:
    """Check an FOL RMFT config before anything compiles; ValueError says what to fix."""
    e, r, s, m = cfg.env, cfg.rmft, cfg.sft, cfg.model
    _checks.check_horizon(e.horizon, "env.horizon")
    if int(e.num_actions) != e.num_actions or e.num_actions < 2:
        raise ValueError(f"env.num_actions must be an integer >= 2, got {e.num_actions!r}.")
    if not e.scenarios:
        raise ValueError(f"env.scenarios must name at least one of {sorted(envs.FOL_SCENARIOS)}.")
    for name in e.scenarios:
        _checks.check_choice("scenario (env.scenarios)", name, envs.FOL_SCENARIOS)
    if len(e.weights) != len(e.scenarios):
        raise ValueError(f"env.weights needs one weight per scenario ({len(e.scenarios)}), got {list(e.weights)}.")
    _checks.check_choice("model.name", m.name, models.MODELS)
    for name, value, low in (("rmft.num_iterations", r.num_iterations, 0), ("rmft.num_scenarios", r.num_scenarios, 1),
                             ("rmft.num_rollouts", r.num_rollouts, 1), ("sft.num_steps", s.num_steps, 0),
                             ("eval.num_scenarios", cfg.eval.num_scenarios, 2), ("eval.every", cfg.eval.every, 1)):
        if isinstance(value, bool) or int(value) != value or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    if isinstance(r.num_selected, bool) or int(r.num_selected) != r.num_selected or r.num_selected < 1:
        raise ValueError(f"rmft.num_selected (k) must be an integer >= 1, got {r.num_selected!r}.")
    if r.num_selected > r.num_rollouts:
        raise ValueError(f"rmft.num_selected (k = {r.num_selected}) cannot exceed rmft.num_rollouts "
                         f"(L = {r.num_rollouts}): keep at most the L trajectories each scenario has.")
    _checks.check_choice("rmft.selection", r.selection, selection.SELECTIONS)
    _checks.check_choice("rmft.exploration", r.exploration, rollout.EXPLORATIONS)
    _checks.check_choice("sft.target", s.target, rollout.TARGETS)
    if s.target == "policy" and r.exploration == "sample":
        raise ValueError("sft.target='policy' needs rmft.exploration='logit_noise': with sampled actions every "
                         "rollout of a scenario has the same policy, so imitating it would change nothing.")
    _checks.check_positive("rmft.temperature", r.temperature)
    _checks.check_positive("rmft.noise_std", r.noise_std, allow_zero=True)
    _checks.check_positive("sft.learning_rate", s.learning_rate)
    _checks.check_positive("sft.grad_clip", s.grad_clip, allow_zero=True)
    _checks.check_choice("sft.optimizer", s.optimizer, ("adam", "sgd"))
    devices = parallel.data_axis_size(cfg)
    if isinstance(devices, bool) or devices < 1 or r.num_scenarios % devices:
        raise ValueError(f"parallel.data_axis_size = {devices} must be >= 1 and divide rmft.num_scenarios "
                         f"(M = {r.num_scenarios}): each device gets an equal share of the scenarios.")
    if not cfg.eval.eta_grid:
        raise ValueError("eval.eta_grid must hold at least one learning rate for the tuned-Hedge baseline.")
    _checks.check_positive("eval.eta_grid", list(cfg.eval.eta_grid))


def build_env(cfg: Any) -> Any:
    """The training/evaluation scenario distribution: one FOL scenario or a weighted mixture."""
    e = cfg.env
    components = tuple(envs.make_fol(name, horizon=e.horizon, num_actions=e.num_actions) for name in e.scenarios)
    if len(components) == 1:
        return components[0]
    return envs.MixtureFOL(components=components, weights=tuple(float(w) for w in e.weights)).validate()


def build_model(cfg: Any, seed: int) -> tuple[nnx.GraphDef, nnx.State]:
    """(graphdef, params) of the configured model, initialized from `seed`."""
    kwargs = {k: v for k, v in cfg.model.to_dict().items() if k != "name"}
    return nnx.split(models.make_model(cfg.model.name, cfg.env.num_actions, seed=seed, **kwargs))


def build_optimizer(cfg: Any) -> optax.GradientTransformation:
    """The SFT optimizer from cfg.sft."""
    return sft.make_optimizer(float(cfg.sft.learning_rate), float(cfg.sft.grad_clip), cfg.sft.optimizer)


def tree_is_finite(tree: Any) -> jax.Array:
    """True when every leaf of `tree` is finite (one scalar, computed on device)."""
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.array(True)


class Phases(NamedTuple):
    """The three phases of one iteration as pure (unjitted) functions; `make_iteration` composes them.

    rollout(params, key_env, key_roll) -> (rewards_MxTxA, trajectories)
    select(trajectories, key_select) -> (keep_Mxk, targets_MxTxA: mean of the kept targets)
    sft(params, opt_state, rewards_MxTxA, targets_MxTxA) -> (params, opt_state, losses)
    """

    rollout: Callable
    select: Callable
    sft: Callable


def make_phases(env: Any, graphdef: nnx.GraphDef, optimizer: optax.GradientTransformation, s: FOLSettings,
                mesh: Mesh | None = None) -> Phases:
    """The phases of one iteration; with a mesh, per-scenario arrays are split over its 'data' axis."""
    apply_fn = lambda p, x: models.apply(graphdef, p, x)
    shard = lambda x: parallel.shard_batch(mesh, x)

    def rollout_phase(params, key_env, key_roll):
        rewards_MxTxA = shard(jax.vmap(env.sample)(jax.random.split(key_env, s.num_scenarios)))
        logits_MxTxA = shard(apply_fn(params, rewards_MxTxA))
        traj = rollout.fol_rollouts(logits_MxTxA, rewards_MxTxA, key_roll, s.num_rollouts,
                                    s.temperature, s.exploration, s.noise_std, s.target)
        return rewards_MxTxA, jax.tree.map(shard, traj)

    def select_phase(traj, key_select):
        scores_MxL = selection.selection_scores(s.selection, traj.regret_MxL, traj.reward_MxL, key_select)
        keep_Mxk = shard(selection.top_k_indices(shard(scores_MxL), s.num_selected))
        return keep_Mxk, shard(jnp.mean(selection.gather_rollouts(traj.targets_MxLxTxA, keep_Mxk), axis=1))

    def sft_phase(params, opt_state, rewards_MxTxA, targets_MxTxA):
        return sft.sft_steps(apply_fn, params, opt_state, optimizer, rewards_MxTxA, targets_MxTxA,
                             s.sft_steps, s.temperature)

    return Phases(rollout_phase, select_phase, sft_phase)


def make_iteration(env: Any, graphdef: nnx.GraphDef, optimizer: optax.GradientTransformation,
                   s: FOLSettings, mesh: Mesh | None = None) -> Callable:
    """Jitted iteration(params, opt_state, key) -> (params, opt_state, metrics).

    With a `mesh` (see `rmft_jax.parallel`), the M scenarios are split over its 'data' axis and
    params, optimizer state and metrics are replicated; without one it runs on the default device.
    """
    parallel.check_divides(mesh, s.num_scenarios, "rmft.num_scenarios")
    phases = make_phases(env, graphdef, optimizer, s, mesh)

    def iteration(params, opt_state, key):
        key_env, key_roll, key_select = jax.random.split(key, 3)
        rewards_MxTxA, traj = phases.rollout(params, key_env, key_roll)
        keep_Mxk, targets_MxTxA = phases.select(traj, key_select)
        params, opt_state, losses = phases.sft(params, opt_state, rewards_MxTxA, targets_MxTxA)
        metrics = {
            "rollout_regret": jnp.mean(traj.regret_MxL),
            "selected_regret": jnp.mean(selection.gather_rollouts(traj.regret_MxL, keep_Mxk)),
            "sft_loss_first": losses[0] if s.sft_steps else jnp.nan,
            "sft_loss": losses[-1] if s.sft_steps else jnp.nan,
            "finite": tree_is_finite((params, losses)),
        }
        return params, opt_state, metrics

    if mesh is None:
        return jax.jit(iteration)
    rep = parallel.replicated(mesh)
    return jax.jit(iteration, in_shardings=rep, out_shardings=rep)


def make_evaluate(graphdef: nnx.GraphDef, temperature: float = 1.0, mesh: Mesh | None = None) -> Callable:
    """Jitted evaluate(params, rewards_NxTxA) -> expected-regret curves (N, T) and their growth stats.

    With a `mesh`, the held-out scenarios are split over its 'data' axis when N divides evenly.
    """

    @jax.jit
    def evaluate(params, rewards_NxTxA):
        if mesh is not None and rewards_NxTxA.shape[0] % mesh.shape[parallel.DATA_AXIS] == 0:
            rewards_NxTxA = parallel.shard_batch(mesh, rewards_NxTxA)
        logits_NxTxA = models.apply(graphdef, params, rewards_NxTxA)
        curves_NxT = rollout.expected_regret_curves(logits_NxTxA, rewards_NxTxA, temperature)
        fit = regret.growth(jnp.mean(curves_NxT, axis=0))
        return curves_NxT, {"eval_regret": jnp.mean(curves_NxT[:, -1]), "beta_hat": fit["beta_hat"],
                            "p_reg": fit["p_reg"]}

    return evaluate
