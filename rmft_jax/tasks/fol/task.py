"""The FOL task: full-information online learning for the RMFT loop (`rmft_jax.core.loop`).

    draw M scenarios -> L rollouts each -> static regret -> (loop: keep k per scenario -> SFT)

`FOLSettings` holds the static (hashable) numbers pulled out of a config; `FOLTask` supplies the
rollout and the SFT batch; `make_iteration` and `make_evaluate` return jitted functions of
(params, opt_state, key) and (params, held-out rewards).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import flax.nnx as nnx
import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh

from rmft_jax import _checks, envs, models, parallel, regret
from rmft_jax.core import loop, paradigms, policy_gradient, regret_loss, selection, sft
from rmft_jax.models import linear_attention
from rmft_jax.tasks import settings
from rmft_jax.tasks.fol import adversarial, rollout
from rmft_jax.tasks.fol import paradigms as fol_paradigms
from rmft_jax.tasks.fol import sequential as fol_sequential
from rmft_jax.tasks.fol.env import build_env  # noqa: F401  (fol.build_env, the task's scenario distribution)

# Fields added after runs were made: a saved config without them trained with these values. This table is the only
# place those old values live (the config files hold today's defaults); every field added from now on gets an entry.
ADDED_FIELD_DEFAULTS = {
    "task": "fol",
    "rmft.independent_rewards": False,
    "rmft.sampler": "gumbel",
    "model.prefix_sum": "cumsum",
    "sft.form": "forward",
    "sft.divergence_factor": 0.0,  # runs made before the divergence check ran without it
    "memory_limit_gb": 0.0,  # the size check reads what the machine reports
    **{f"paradigm.{k}": v for k, v in fol_paradigms.PARADIGM_DEFAULTS.items()},
    **{f"adversary.{k}": (list(v) if isinstance(v, tuple) else v) for k, v in adversarial.DEFAULTS.items()},
}


@dataclasses.dataclass(frozen=True)
class FOLSettings(settings.TaskSettings):
    """Static settings of one RMFT run on FOL: the shared ones (`settings.TaskSettings`) and FOL's own."""

    exploration: str
    sampler: str
    noise_std: float
    target: str
    # Non-oblivious scenarios (`rmft_jax.tasks.fol.adversarial`): how many of the M, and how they are made.
    attack_scenarios: int
    adaptive_scenarios: int
    adversary_kinds: tuple
    adversary_prob: tuple
    attack_steps: int
    attack_step_size: float
    attack_init_scale: float
    independent_rewards: bool  # each rollout draws its own table from its scenario's process

    @property
    def oblivious_scenarios(self) -> int:
        """How many of the M scenarios are oblivious draws of the environment."""
        return self.num_scenarios - self.attack_scenarios - self.adaptive_scenarios

    @classmethod
    def from_config(cls, cfg: Any) -> FOLSettings:
        """Pull the static numbers out of an ml_collections config (validated separately)."""
        r, a = cfg.rmft, adversarial.settings(cfg)
        _, attack, adaptive_count = adversarial.scenario_counts(r.num_scenarios, a["adaptive_share"], a["attack_share"])
        return cls(
            **settings.shared_fields(cfg, fol_paradigms.paradigm_settings(cfg)),
            exploration=r.exploration,
            sampler=r.sampler,
            noise_std=float(r.noise_std),
            target=cfg.sft.target,
            attack_scenarios=attack,
            adaptive_scenarios=adaptive_count,
            adversary_kinds=a["kinds"],
            adversary_prob=a["adversary_prob"],
            attack_steps=int(a["attack_steps"]),
            attack_step_size=float(a["attack_step_size"]),
            attack_init_scale=float(a["attack_init_scale"]),
            independent_rewards=bool(r.independent_rewards),
        )

    @property
    def has_paths(self) -> bool:
        """True when some rollouts have tables of their own (adaptive scenarios or independent draws)."""
        return self.adaptive_scenarios > 0 or (self.independent_rewards and self.oblivious_scenarios > 0)


def validate_config(cfg: Any) -> None:
    """Check an FOL RMFT config before anything compiles; ValueError says what to fix."""
    settings.validate_shared(cfg)
    e, r, s = cfg.env, cfg.rmft, cfg.sft
    if not e.scenarios:
        raise ValueError(f"env.scenarios must name at least one of {sorted(envs.FOL_SCENARIOS)}.")
    for name in e.scenarios:
        _checks.check_choice("scenario (env.scenarios)", name, envs.FOL_SCENARIOS)
    if len(e.weights) != len(e.scenarios):
        raise ValueError(f"env.weights needs one weight per scenario ({len(e.scenarios)}), got {list(e.weights)}.")
    _checks.check_choice("rmft.exploration", r.exploration, rollout.EXPLORATIONS)
    _checks.check_choice("sft.target", s.target, rollout.TARGETS)
    _checks.check_choice("rmft.sampler", r.sampler, rollout.SAMPLERS)
    if s.target == "policy" and r.exploration == "sample":
        raise ValueError(
            "sft.target='policy' needs rmft.exploration='logit_noise': with sampled actions every "
            "rollout of a scenario has the same policy, so imitating it would change nothing."
        )
    _checks.check_positive("rmft.noise_std", r.noise_std, allow_zero=True)
    devices = parallel.data_axis_size(cfg)
    if isinstance(devices, bool) or devices < 1 or r.num_scenarios % devices:
        raise ValueError(
            f"parallel.data_axis_size = {devices} must be >= 1 and divide rmft.num_scenarios "
            f"(M = {r.num_scenarios}): each device gets an equal share of the scenarios."
        )
    adversarial.validate(cfg)
    fol_paradigms.validate(cfg)
    st = FOLSettings.from_config(cfg)
    if (st.attack_scenarios or st.has_paths) and devices > 1:
        raise ValueError(
            "adversarial scenarios and rmft.independent_rewards run on one device: set "
            "parallel.data_axis_size = 1 (or the adversary shares to 0)."
        )
    if (st.attack_scenarios or st.has_paths) and (r.exploration != "sample" or cfg.sft.target != "actions"):
        raise ValueError(
            "adversarial scenarios and rmft.independent_rewards need rmft.exploration='sample' and "
            "sft.target='actions' (their rollouts imitate sampled actions on their own tables)."
        )
    if not cfg.eval.eta_grid:
        raise ValueError("eval.eta_grid must hold at least one learning rate for the tuned-Hedge baseline.")
    _checks.check_positive("eval.eta_grid", list(cfg.eval.eta_grid))


def build_model(cfg: Any, seed: int) -> tuple[nnx.GraphDef, nnx.State]:
    """(graphdef, params) of the configured model, initialized from `seed`."""
    kwargs = {k: v for k, v in cfg.model.to_dict().items() if k != "name"}
    return nnx.split(models.make_model(cfg.model.name, cfg.env.num_actions, seed=seed, **kwargs))


def build_optimizer(cfg: Any) -> optax.GradientTransformation:
    """The SFT optimizer from cfg.sft."""
    return sft.optimizer_from_config(cfg)


class FOLRollouts(NamedTuple):
    """An FOL iteration's rollout data: the shared tables (S, T, A) and their rollouts (one table per
    scenario, one-pass path), and rollouts with tables of their own (adaptive adversaries, independent
    draws; leaves (P, L, ...)) or None. Scenario order in (M, L) arrays: the S shared first, then the P."""

    rewards_SxTxA: jax.Array
    shared: rollout.Trajectories | None
    paths: fol_sequential.PathRollouts | None


def _sampled_paths(apply_fn, params, tables_PxLxTxA, key, temperature) -> fol_sequential.PathRollouts:
    """Rollouts on oblivious tables of their own: one pass over all P L tables, then sampled actions."""
    tables_BxTxA = tables_PxLxTxA.reshape((-1,) + tables_PxLxTxA.shape[2:])
    actions_BxT = jax.random.categorical(key, apply_fn(params, tables_BxTxA) / temperature, axis=-1)
    paths = fol_sequential.PathRollouts(
        tables_BxTxA, actions_BxT, *rollout.sampled_regret_and_reward(tables_BxTxA, actions_BxT)
    )
    return jax.tree.map(lambda x: x.reshape(tables_PxLxTxA.shape[:2] + x.shape[1:]), paths)


def _per_rollout(data: FOLRollouts, field: str) -> jax.Array:
    """Each rollout's realized `field` ('regret' or 'reward'), (M, L): shared-table scenarios first, then paths."""
    parts = [] if data.shared is None else [getattr(data.shared, f"{field}_MxL")]
    return jnp.concatenate(parts + ([] if data.paths is None else [getattr(data.paths, f"{field}_x")]))


def _concat(parts: list) -> Any:
    """Concatenate pytrees along the scenario axis (None when there are none)."""
    return jax.tree.map(lambda *xs: jnp.concatenate(xs), *parts) if parts else None


@dataclasses.dataclass(frozen=True)
class FOLTask:
    """Full-information online learning as an RMFT task (`rmft_jax.core.loop.Task`).

    Oblivious scenarios share one table per scenario and are played by one causal pass (the fast
    path); adaptive adversaries and independent draws give each rollout its own table.
    """

    env: Any
    graphdef: nnx.GraphDef
    settings: FOLSettings
    mesh: Mesh | None = None
    teacher: tuple | None = None  # (name, eta): a teacher algorithm plays the rollouts (distillation)

    def apply(self, params, inputs_BxTxA):
        """Logits (B, T, A) of the model on reward tables."""
        return models.apply(self.graphdef, params, inputs_BxTxA)

    @property
    def sft_features(self) -> Callable | None:
        """sft.form='moments': SFT trains on the inputs' prefix second moments, computed once per update (the single
        layer's sufficient statistic; `core.paradigms.imitation_update`); 'forward': None, the forward pass."""
        return linear_attention.prefix_second_moments if self.settings.sft_form == "moments" else None

    def apply_features(self, params, moments_BxTxD1xD1):
        """Logits (B, T, A) from the prefix second moments of the reward tables."""
        return models.apply_moments(self.graphdef, params, moments_BxTxD1xD1)

    def with_teacher(self, name: str, eta: float) -> FOLTask:
        """The same task with a teacher algorithm (`fol_paradigms.teacher_policies`) playing the rollouts instead of
        the model."""
        return dataclasses.replace(self, teacher=(name, eta))

    def _rollout_logits(self, params, rewards_SxTxA):
        """Logits the rollouts sample from: the model's, or log of the teacher's policies."""
        if self.teacher is None:
            return self.apply(params, rewards_SxTxA)
        return jnp.log(fol_paradigms.teacher_policies(*self.teacher, rewards_SxTxA, env=self.env))

    def pg_batch(self, rolls: loop.Rollouts, advantages_MxL, keep_MxG) -> policy_gradient.PGBatch:
        """The kept rollouts (M, G) with their advantages; the rollouts of a scenario share its table (one input
        row)."""
        shared = rolls.data.shared
        actions_MxLxT = (
            shared.actions_MxLxT if shared.actions_MxLxT is not None else jnp.argmax(shared.targets_MxLxTxA, axis=-1)
        )
        return policy_gradient.PGBatch(
            rolls.data.rewards_SxTxA,
            selection.gather_rollouts(actions_MxLxT, keep_MxG),
            selection.gather_rollouts(advantages_MxL, keep_MxG),
        )

    def regret_batch(self, rolls: loop.Rollouts) -> regret_loss.RegretBatch:
        """The M reward tables, as the model's input and as what its regret is measured on."""
        return regret_loss.RegretBatch(rolls.data.rewards_SxTxA, rolls.data.rewards_SxTxA)

    def shard(self, x):
        """Split per-scenario arrays over the mesh's 'data' axis (identity without a mesh)."""
        return parallel.shard_batch(self.mesh, x)

    def rollout(self, params, key_env, key_roll) -> loop.Rollouts:
        """Draw the M scenarios and play L rollouts of each."""
        s, shard = self.settings, self.shard
        # Keys of the non-oblivious parts come from a fold of key_env, so the default stream is unchanged.
        key_attack, key_adapt, key_paths = jax.random.split(jax.random.fold_in(key_env, 1), 3)
        scenario_keys = jax.random.split(key_env, s.oblivious_scenarios)
        shared, paths = [], []
        if s.oblivious_scenarios and not s.independent_rewards:
            shared.append(jax.vmap(self.env.sample)(scenario_keys))
        if s.attack_scenarios:
            shared.append(
                adversarial.attack_tables(
                    self.apply,
                    params,
                    key_attack,
                    s.attack_scenarios,
                    s.horizon,
                    s.num_actions,
                    s.attack_steps,
                    s.attack_step_size,
                    s.attack_init_scale,
                    s.temperature,
                )
            )
        if s.oblivious_scenarios and s.independent_rewards:
            tables_PxLxTxA = jax.vmap(lambda k: envs.sample_rollout_tables(self.env, k, s.num_rollouts))(scenario_keys)
            paths.append(
                _sampled_paths(self.apply, params, tables_PxLxTxA, jax.random.fold_in(key_paths, 0), s.temperature)
            )
        if s.adaptive_scenarios:
            scen = fol_sequential.sample_adaptive(
                key_adapt, s.adaptive_scenarios, len(s.adversary_kinds), s.num_actions, s.adversary_prob
            )
            paths.append(
                fol_sequential.adaptive_rollouts(
                    self.graphdef,
                    params,
                    scen,
                    s.adversary_kinds,
                    s.horizon,
                    s.num_actions,
                    s.num_rollouts,
                    jax.random.fold_in(key_paths, 1),
                    s.temperature,
                )
            )
        rewards_SxTxA = shard(_concat(shared)) if shared else jnp.zeros((0, s.horizon, s.num_actions))
        traj = None
        if shared:
            logits_SxTxA = shard(self._rollout_logits(params, rewards_SxTxA))
            traj = jax.tree.map(
                shard,
                rollout.fol_rollouts(
                    logits_SxTxA,
                    rewards_SxTxA,
                    key_roll,
                    s.num_rollouts,
                    s.temperature,
                    s.exploration,
                    s.noise_std,
                    s.target,
                    sampler=s.sampler,
                ),
            )
        data = FOLRollouts(rewards_SxTxA, traj, _concat(paths))
        return loop.Rollouts(_per_rollout(data, "regret"), _per_rollout(data, "reward"), data)

    def sft_batch(self, rolls: loop.Rollouts, keep_Mxk) -> loop.SFTBatch:
        """Shared tables: one row each, the mean of its k kept targets; own tables: one row per kept rollout."""
        s, data = self.settings, rolls.data
        num_shared = data.rewards_SxTxA.shape[0]
        inputs, targets = [], []
        if data.shared is not None and data.shared.actions_MxLxT is not None:  # inverse-CDF sampler
            kept_SxkxT = selection.gather_rollouts(data.shared.actions_MxLxT, keep_Mxk[:num_shared])
            inputs.append(data.rewards_SxTxA)
            targets.append(self.shard(jnp.mean(jax.nn.one_hot(kept_SxkxT, s.num_actions), axis=1)))
        elif data.shared is not None:
            kept_SxkxTxA = selection.gather_rollouts(data.shared.targets_MxLxTxA, keep_Mxk[:num_shared])
            inputs.append(data.rewards_SxTxA)
            targets.append(self.shard(jnp.mean(kept_SxkxTxA, axis=1)))
        if data.paths is None:
            return loop.SFTBatch(inputs[0], targets[0], None)
        # Rollouts with tables of their own: each kept one is an SFT row on its own table, weight 1/k,
        # so every scenario weighs the same as a shared-table scenario (one row, the mean of k targets).
        keep_Pxk = keep_Mxk[num_shared:]
        tables = selection.gather_rollouts(data.paths.tables_xTxA, keep_Pxk).reshape((-1, s.horizon, s.num_actions))
        actions = selection.gather_rollouts(data.paths.actions_xT, keep_Pxk).reshape(-1, s.horizon)
        inputs.append(tables)
        targets.append(jax.nn.one_hot(actions, s.num_actions, dtype=tables.dtype))
        weights_B = jnp.concatenate([jnp.ones((num_shared,)), jnp.full((tables.shape[0],), 1.0 / s.num_selected)])
        return loop.SFTBatch(jnp.concatenate(inputs), jnp.concatenate(targets), weights_B)


def make_phases(
    env: Any, graphdef: nnx.GraphDef, optimizer: optax.GradientTransformation, s: FOLSettings, mesh: Mesh | None = None
) -> loop.Phases:
    """The phases of one FOL iteration; with a mesh, per-scenario arrays are split over its 'data' axis."""
    task = FOLTask(env, graphdef, s, mesh)
    return loop.make_phases(task, paradigms.imitation_update(task, optimizer, s.sft_steps, s.temperature), s.loop)


def make_iteration(
    env: Any, graphdef: nnx.GraphDef, optimizer: optax.GradientTransformation, s: FOLSettings, mesh: Mesh | None = None
) -> Callable:
    """Jitted iteration(params, opt_state, key) -> (params, opt_state, metrics): the core loop on the FOL task.

    With a `mesh` (see `rmft_jax.parallel`), the M scenarios are split over its 'data' axis and
    params, optimizer state and metrics are replicated; without one it runs on the default device.
    """
    parallel.check_divides(mesh, s.num_scenarios, "rmft.num_scenarios")
    iteration = paradigms.make_iteration(FOLTask(env, graphdef, s, mesh), optimizer, s.loop, s.paradigm)
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
        return curves_NxT, {
            "eval_regret": jnp.mean(curves_NxT[:, -1]),
            "beta_hat": fit["beta_hat"],
            "p_reg": fit["p_reg"],
        }

    return evaluate
