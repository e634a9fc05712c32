"""The bandit task (MAB, NS-MAB) for the RMFT loop (`rmft_jax.core.loop`), its config and evaluation.

    draw M instances -> L sequential cached rollouts each -> pseudo/dynamic regret from the means
    -> (loop: keep k per instance -> SFT on the kept trajectories, teacher-forced, one causal pass each)

Unlike FOL, the k kept trajectories of an instance have different inputs (their own actions and
rewards), so SFT runs on M*k sequences. `make_imitation` fits a model to Greedy's trajectories
(the `greedy` init). Every function here acts on one parameter set; the driver vmaps over seeds.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import flax.nnx as nnx
import jax
import jax.numpy as jnp
import optax

from rmft_jax import _checks, envs, models, regret
from rmft_jax.baselines import bandits as bandit_baselines
from rmft_jax.core import loop, paradigms, policy_gradient, selection
from rmft_jax.tasks import settings
from rmft_jax.tasks.bandit import rollout as bandit_rollout
from rmft_jax.tasks.bandit import tokens as bandit_tokens

TASKS = {"mab": envs.BANDIT_SCENARIOS, "nsmab": envs.NSMAB_SCENARIOS}
INITS = ("scratch", "greedy")
# The transfer tests of a trained policy (`rmft_jax.tasks.bandit.transfer`), named in eval.transfer.
TRANSFER_TESTS = ("2T", "4T", "other_task")


@dataclasses.dataclass(frozen=True)
class BanditSettings(settings.TaskSettings):
    """Static settings of one bandit RMFT run: the shared ones (`settings.TaskSettings`) and the bandits' own."""

    rollout_temperature: float
    time_feature: bool

    @classmethod
    def from_config(cls, cfg: Any) -> BanditSettings:
        """Pull the static numbers out of an ml_collections config (validated separately)."""
        return cls(
            **settings.shared_fields(cfg, paradigm_settings(cfg)),
            rollout_temperature=float(cfg.rmft.rollout_temperature),
            time_feature=bool(cfg.model.time_feature),
        )


# The `paradigm` config section (absent in configs made before it: Iterative RMFT); distill's teacher is a bandit
# algorithm.
PARADIGM_DEFAULTS = {"name": "rmft", "teacher": "ucb1", "pg_return": "reward", "clip": 0.2, "rows": "all"}
# Fields added after runs were made: a saved config without them trained with these values (the only place they
# live; every field added from now on gets an entry).
ADDED_FIELD_DEFAULTS = {
    **{f"paradigm.{k}": v for k, v in PARADIGM_DEFAULTS.items()},
    "sft.divergence_factor": 0.0,  # runs made before the divergence check ran without it
    "memory_limit_gb": 0.0,  # the size check reads what the machine reports
    "sft.form": "forward",
}


def paradigm_settings(cfg: Any) -> paradigms.ParadigmSettings:
    """The config's `paradigm` section as settings (teacher_eta does not apply to bandit teachers)."""
    p = settings.paradigm_section(cfg, PARADIGM_DEFAULTS)
    return paradigms.ParadigmSettings(p["name"], p["teacher"], 0.0, p["pg_return"], float(p["clip"]), p["rows"])


def _validate_paradigm(cfg: Any) -> None:
    """Check the `paradigm` section; the regret-loss has no exact gradient with bandit feedback."""
    p = settings.paradigm_section(cfg, PARADIGM_DEFAULTS)
    if p["name"] == "regret_loss":
        raise ValueError(
            "paradigm.name='regret_loss' needs the expected regret as a differentiable function of the "
            "parameters, which bandit feedback does not give: its score-function estimator is "
            "paradigm.name='policy_gradient' with paradigm.pg_return='regret'."
        )
    settings.validate_paradigm(p, tuple(bandit_baselines.ALGORITHMS))


def _env_kwargs(cfg: Any, section: Any) -> dict:
    """Scenario fields of an env section plus the shared horizon and action count."""
    kwargs = {k: v for k, v in section.to_dict().items() if k not in ("name", "horizon", "num_actions")}
    return {**kwargs, "horizon": cfg.env.horizon, "num_actions": cfg.env.num_actions}


def build_envs(cfg: Any) -> tuple[Any, Any]:
    """(training distribution, held-out distribution) of the config's task; ValueError on bad fields."""
    make = envs.make_bandit if cfg.task == "mab" else envs.make_nsmab
    return make(cfg.env.name, **_env_kwargs(cfg, cfg.env)), make(cfg.eval.env.name, **_env_kwargs(cfg, cfg.eval.env))


def validate_config(cfg: Any) -> None:
    """Check a bandit RMFT config before anything compiles; ValueError says what to fix."""
    _checks.check_choice("task", cfg.task, TASKS)
    g = cfg.greedy_init
    settings.validate_shared(
        cfg,
        (
            ("greedy_init.num_rounds", g.num_rounds, 0),
            ("greedy_init.num_scenarios", g.num_scenarios, 1),
            ("greedy_init.sft_steps", g.sft_steps, 1),
        ),
    )
    for section, name in ((cfg.env, "env.name"), (cfg.eval.env, "eval.env.name")):
        _checks.check_choice(f"{cfg.task} scenario ({name})", section.name, TASKS[cfg.task])
    build_envs(cfg)
    _checks.check_positive("rmft.rollout_temperature", cfg.rmft.rollout_temperature)
    unknown = sorted(set(cfg.inits.to_dict()) - set(INITS))
    if unknown:
        raise ValueError(f"unknown init(s) {unknown} in cfg.inits; choose among {list(INITS)}.")
    for init, seeds in cfg.inits.to_dict().items():
        _checks.check_int(f"inits.{init} (number of seeds)", seeds, 0)
    if not any(cfg.inits.to_dict().values()):
        raise ValueError("cfg.inits trains nothing: give inits.scratch or inits.greedy at least one seed.")
    for name in cfg.eval.baselines:
        _checks.check_choice("baseline (eval.baselines)", name, bandit_baselines.ALGORITHMS)
    _validate_paradigm(cfg)
    _validate_transfer(cfg)
    if cfg.sft.form == "moments" and cfg.model.time_feature:
        raise ValueError(
            "sft.form='moments' on bandits needs model.time_feature=False: its statistic is each arm's pulls, "
            "reward sum and sum of squares (tokens.arm_moments), which the t / T coordinate does not fit; use "
            "sft.form='forward'."
        )


def _validate_transfer(cfg: Any) -> None:
    """Unknown transfer tests, or 2T / 4T with a model that reads the round index, fail before training."""
    names = tuple(cfg.eval.get("transfer", ()))
    unknown = sorted(set(names) - set(TRANSFER_TESTS))
    if unknown:
        raise ValueError(f"eval.transfer must name tests of {list(TRANSFER_TESTS)}, got {unknown}.")
    if {"2T", "4T"} & set(names) and cfg.model.get("time_feature", False):
        raise ValueError("eval.transfer '2T'/'4T' needs a horizon-free model: set model.time_feature=False.")


def build_model(cfg: Any, seed: int) -> tuple[nnx.GraphDef, nnx.State]:
    """(graphdef, params) of the configured model with bandit-token input, initialized from `seed`."""
    kwargs = {k: v for k, v in cfg.model.to_dict().items() if k not in ("name", "time_feature")}
    dim = bandit_tokens.token_dim(cfg.env.num_actions, bool(cfg.model.time_feature))
    return nnx.split(models.make_model(cfg.model.name, cfg.env.num_actions, seed=seed, input_dim=dim, **kwargs))


def _sft_batch(actions_BxT, rewards_BxT, num_actions: int, time_feature: bool) -> loop.SFTBatch:
    """Teacher forcing on the trajectories' own tokens, their actions as targets."""
    tokens_BxTxD = bandit_tokens.encode(actions_BxT, rewards_BxT, num_actions, time_feature)
    return loop.SFTBatch(tokens_BxTxD, jax.nn.one_hot(actions_BxT, num_actions, dtype=jnp.float32), None)


@dataclasses.dataclass(frozen=True)
class BanditTask:
    """MAB / NS-MAB as an RMFT task (`rmft_jax.core.loop.Task`): sequential cached rollouts, pseudo-regret.

    The k kept trajectories of an instance have different inputs (their own actions and rewards), so
    the SFT batch has M k rows.
    """

    env: Any
    graphdef: nnx.GraphDef
    settings: BanditSettings
    teacher: str | None = None  # a bandit algorithm plays the rollouts (distillation)

    def with_teacher(self, name: str, eta: float = 0.0) -> BanditTask:
        """The same task with a classical bandit algorithm (`baselines.bandits`) playing the rollouts.

        With `paradigm.rows == "k"` the teacher plays k rollouts per instance, not L: its play does not depend
        on the model, so k drawn have the distribution of k kept at random out of L drawn (and cost k / L).
        """
        s = self.settings
        if s.paradigm.rows == "k":
            s = dataclasses.replace(s, num_rollouts=s.num_selected)
        return dataclasses.replace(self, teacher=name, settings=s)

    def pg_batch(self, rolls: loop.Rollouts, advantages_MxL, keep_MxG) -> policy_gradient.PGBatch:
        """The kept rollouts (M, G) with their advantages; each has inputs of its own (its actions and rewards)."""
        s, (actions_MxLxT, observed_MxLxT) = self.settings, rolls.data
        rows = keep_MxG.size
        actions_BxT = selection.gather_rollouts(actions_MxLxT, keep_MxG).reshape(rows, s.horizon)
        observed_BxT = selection.gather_rollouts(observed_MxLxT, keep_MxG).reshape(rows, s.horizon)
        tokens_BxTxD = bandit_tokens.encode(actions_BxT, observed_BxT, s.num_actions, s.time_feature)
        adv_B = selection.gather_rollouts(advantages_MxL, keep_MxG).reshape(rows, 1)
        return policy_gradient.PGBatch(tokens_BxTxD, actions_BxT[:, None], adv_B)

    def apply(self, params, tokens_BxTxD):
        """Logits (B, T, A) of the model on bandit tokens (teacher forcing)."""
        return models.apply(self.graphdef, params, tokens_BxTxD)

    @property
    def sft_features(self) -> Callable | None:
        """sft.form='moments': SFT trains on each arm's prefix sums (`tokens.arm_moments`), computed once per update
        (`core.paradigms.imitation_update`); 'forward': None, the forward pass."""
        if self.settings.sft_form != "moments":
            return None
        return functools.partial(bandit_tokens.arm_moments, num_actions=self.settings.num_actions)

    def apply_features(self, params, stats_BxTxS):
        """Logits (B, T, A) of the single layer from `tokens.arm_moments` of the tokens."""
        projection = functools.partial(bandit_tokens.moments_projection, num_actions=self.settings.num_actions)
        return models.apply_statistic(self.graphdef, params, stats_BxTxS, projection)

    def shard(self, x):
        """No device mesh for bandits: seeds are vmapped instead."""
        return x

    def rollout(self, params, key_env, key_roll) -> loop.Rollouts:
        """M instances, L sequential rollouts each on the instance's one reward draw (common random numbers)."""
        s = self.settings
        m, num_rollouts = s.num_scenarios, s.num_rollouts
        scen = jax.vmap(self.env.sample)(jax.random.split(key_env, m))
        rewards_BxTxA = jnp.repeat(scen.rewards_TxA, num_rollouts, axis=0)  # B = M*L
        if self.teacher is None:
            traj = bandit_rollout.rollout(
                self.graphdef, params, rewards_BxTxA, key_roll, s.rollout_temperature, s.time_feature
            )
            actions_BxT, observed_BxT = traj.actions_BxT, traj.rewards_BxT
        else:  # the teacher plays the same tables; its means argument only sets the shapes when a table is given
            hparams = bandit_baselines.resolve_hparams(self.teacher, s.horizon, s.num_actions)
            teacher = bandit_baselines.make_bandit_fn(self.teacher, m * num_rollouts, hparams)
            actions_BxT, observed_BxT = teacher(key_roll, scen.means_TxA[0], rewards_BxTxA)
        actions_MxLxT = actions_BxT.reshape(m, num_rollouts, s.horizon)
        observed_MxLxT = observed_BxT.reshape(m, num_rollouts, s.horizon)
        regret_MxL = regret.pseudo_regret(scen.means_TxA[:, None], actions_MxLxT)[..., -1]
        return loop.Rollouts(regret_MxL, jnp.sum(observed_MxLxT, axis=-1), (actions_MxLxT, observed_MxLxT))

    def sft_batch(self, rolls: loop.Rollouts, keep_Mxk) -> loop.SFTBatch:
        """One row per kept trajectory: its own tokens and actions."""
        s = self.settings
        actions_MxLxT, observed_MxLxT = rolls.data
        rows = keep_Mxk.size
        kept_actions_BxT = selection.gather_rollouts(actions_MxLxT, keep_Mxk).reshape(rows, s.horizon)
        kept_rewards_BxT = selection.gather_rollouts(observed_MxLxT, keep_Mxk).reshape(rows, s.horizon)
        return _sft_batch(kept_actions_BxT, kept_rewards_BxT, s.num_actions, s.time_feature)


def make_iteration(
    env: Any, graphdef: nnx.GraphDef, optimizer: optax.GradientTransformation, s: BanditSettings
) -> Callable:
    """Unjitted iteration(params, opt_state, key) -> (params, opt_state, metrics) for one seed: the core loop."""
    return paradigms.make_iteration(BanditTask(env, graphdef, s), optimizer, s.loop, s.paradigm)


def make_imitation(
    env: Any,
    graphdef: nnx.GraphDef,
    optimizer: optax.GradientTransformation,
    s: BanditSettings,
    num_scenarios: int,
    num_steps: int,
) -> Callable:
    """Unjitted imitation_round(params, opt_state, key) -> (params, opt_state, loss): fit Greedy's play."""
    hparams = bandit_baselines.resolve_hparams("greedy", s.horizon, s.num_actions)
    greedy = bandit_baselines.make_bandit_fn("greedy", num_scenarios, hparams)
    update = paradigms.imitation_update(BanditTask(env, graphdef, s), optimizer, num_steps, s.temperature)

    def imitation_round(params, opt_state, key):
        key_env, key_greedy = jax.random.split(key)
        scen = jax.vmap(env.sample)(jax.random.split(key_env, num_scenarios))
        actions_NxT, rewards_NxT = greedy(key_greedy, scen.means_TxA[0], scen.rewards_TxA)
        batch = _sft_batch(actions_NxT, rewards_NxT, s.num_actions, s.time_feature)
        params, opt_state, losses = update(params, opt_state, batch)
        return params, opt_state, losses[-1]

    return imitation_round


def make_evaluate(graphdef: nnx.GraphDef, s: BanditSettings) -> Callable:
    """Unjitted evaluate(params, means_NxTxA, rewards_NxTxA, key) -> (actions (N, T), observed rewards, regret
    curves)."""

    def evaluate(params, means_NxTxA, rewards_NxTxA, key):
        traj = bandit_rollout.rollout(graphdef, params, rewards_NxTxA, key, s.temperature, s.time_feature)
        return traj.actions_BxT, traj.rewards_BxT, regret.pseudo_regret(means_NxTxA, traj.actions_BxT)

    return evaluate
