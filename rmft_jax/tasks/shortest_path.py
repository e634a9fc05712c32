"""Online shortest path as an RMFT task: the worked example of `docs/extending.md`, in one file.

Each round the learner picks one of the 4 source-to-sink paths of a small layered graph

    s -> {u0, u1} -> {v0, v1} -> t      (8 edges; path (i, j) = s-u_i, u_i-v_j, v_j-t)

then sees every edge's loss in [0, 1] (full information). A path's reward is one minus its mean
edge loss; regret is against the best fixed path in hindsight. The model reads the edge losses of
past rounds (input D = 8) and outputs logits over the 4 paths, so the FOL one-pass rollout applies:
all T policies come from one causal pass, and the L rollouts of a scenario differ only in their
sampled paths. Everything a decision problem needs is here: scenarios, the task (rollout, SFT
batch), held-out evaluation with a baseline (Hedge over paths), a config and the driver's build.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import flax.nnx as nnx
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from rmft_jax import _checks, models, regret
from rmft_jax.baselines import full_info
from rmft_jax.core import loop, selection, sft
from rmft_jax.core.run import Run
from rmft_jax.tasks import settings
from rmft_jax.tasks.fol import rollout

# Edge index of (layer, from, to): 0-1 s->u_i, 2-5 u_i->v_j (2 + 2i + j), 6-7 v_j->t.
NUM_EDGES, NUM_PATHS = 8, 4
INCIDENCE_PxE = np.zeros((NUM_PATHS, NUM_EDGES), np.float32)
for _i in range(2):
    for _j in range(2):
        INCIDENCE_PxE[2 * _i + _j, [_i, 2 + 2 * _i + _j, 6 + _j]] = 1.0


def path_rewards(losses_xTxE: jax.Array) -> jax.Array:
    """Each path's reward (..., T, P): one minus the mean loss of its 3 edges."""
    return 1.0 - losses_xTxE @ jnp.asarray(INCIDENCE_PxE).T / 3.0


def sample_losses(key: jax.Array, horizon: int, noise_std: float) -> jax.Array:
    """One scenario's edge losses (T, E): per-edge means ~ U[0, 1] plus Gaussian noise, clipped to [0, 1]."""
    key_mean, key_noise = jax.random.split(key)
    means_E = jax.random.uniform(key_mean, (NUM_EDGES,))
    noise_TxE = noise_std * jax.random.normal(key_noise, (horizon, NUM_EDGES))
    return jnp.clip(means_E + noise_TxE, 0.0, 1.0)


@dataclasses.dataclass(frozen=True)
class ShortestPathTask:
    """The task of `rmft_jax.core.loop`: M scenarios, L sampled paths per round each, static regret."""

    graphdef: nnx.GraphDef
    horizon: int
    num_scenarios: int
    num_rollouts: int
    noise_std: float = 0.3
    temperature: float = 1.0

    def apply(self, params, losses_BxTxE):
        """Path logits (B, T, P) from the edge losses of past rounds."""
        return models.apply(self.graphdef, params, losses_BxTxE)

    def shard(self, x):
        """One device: no placement."""
        return x

    def rollout(self, params, key_env, key_roll) -> loop.Rollouts:
        """Draw M loss tables; sample L paths per round from the model's policies (one causal pass)."""
        losses_MxTxE = jax.vmap(lambda k: sample_losses(k, self.horizon, self.noise_std))(
            jax.random.split(key_env, self.num_scenarios)
        )
        logits_MxTxP = self.apply(params, losses_MxTxE)
        paths_MxLxT = jax.random.categorical(
            key_roll,
            logits_MxTxP[:, None] / self.temperature,
            axis=-1,
            shape=(self.num_scenarios, self.num_rollouts, self.horizon),
        )
        # Regret against the best fixed path in hindsight, from the integer paths (no one-hot).
        regret_MxL, reward_MxL = rollout.sampled_regret_and_reward(path_rewards(losses_MxTxE)[:, None], paths_MxLxT)
        return loop.Rollouts(regret_MxL, reward_MxL, (losses_MxTxE, paths_MxLxT))

    def sft_batch(self, rolls: loop.Rollouts, keep_Mxk) -> loop.SFTBatch:
        """One row per scenario: its losses, and the mean of its k kept paths one-hot (they share the inputs)."""
        losses_MxTxE, paths_MxLxT = rolls.data
        kept_MxkxT = selection.gather_rollouts(paths_MxLxT, keep_Mxk)
        targets_MxTxP = jnp.mean(jax.nn.one_hot(kept_MxkxT, NUM_PATHS), axis=1)
        return loop.SFTBatch(losses_MxTxE, targets_MxTxP, None)


def expected_regret(task: ShortestPathTask, params, losses_NxTxE: jax.Array) -> jax.Array:
    """Expected regret curves (N, T) of the model's policies (no sampling noise)."""
    policy_NxTxP = jax.nn.softmax(task.apply(params, losses_NxTxE) / task.temperature, axis=-1)
    return regret.static_regret(path_rewards(losses_NxTxE), policy_NxTxP)


def get_config() -> ml_collections.ConfigDict:
    """A small default: T = 30, M = 64 scenarios, L = 8 rollouts, k = 1, 40 iterations of 20 Adam steps."""
    c = ml_collections.ConfigDict()
    c.task = "shortest_path"  # the runner's key (rmft_jax.training.runner.EXPERIMENTS)
    c.seed = 0
    # Memory this run may use, in GiB, for the size check before compiling (rmft_jax/tasks/settings.check_memory):
    # 0 = what the machine reports available. May change on resume.
    c.memory_limit_gb = 0.0
    c.env = ml_collections.ConfigDict({"horizon": 30, "noise_std": 0.3})
    c.model = ml_collections.ConfigDict({"name": "linear_attention", "init_scale": 0.1})
    c.rmft = ml_collections.ConfigDict(
        {
            "num_iterations": 40,
            "num_scenarios": 64,
            "num_rollouts": 8,
            "num_selected": 1,
            "selection": "regret",
            "temperature": 1.0,
        }
    )
    c.sft = ml_collections.ConfigDict(
        {"num_steps": 20, "learning_rate": 0.01, "grad_clip": 1.0, "optimizer": "adam", "divergence_factor": 1e3}
    )
    c.eval = ml_collections.ConfigDict({"num_scenarios": 256, "every": 10, "hedge_eta": 0.5})
    c.checkpoint = ml_collections.ConfigDict({"max_to_keep": 2, "every": 10})
    return c


class Experiment:
    """The driver's side (`rmft_jax.training.driver.run`): validation and the run of a config."""

    def __init__(self, log=print):
        """`log` receives the report's lines."""
        self.log = log

    def validate(self, cfg: Any) -> None:
        """Clear errors before anything compiles."""
        _checks.check_horizon(cfg.env.horizon, "env.horizon")
        _checks.check_choice("rmft.selection", cfg.rmft.selection, selection.SELECTIONS)
        if not 1 <= cfg.rmft.num_selected <= cfg.rmft.num_rollouts:
            raise ValueError(f"rmft.num_selected must be in 1..rmft.num_rollouts, got {cfg.rmft.num_selected}.")
        _checks.check_positive("sft.learning_rate", cfg.sft.learning_rate)

    def build(self, cfg: Any) -> Run:
        """Task, core-loop iteration, held-out evaluation and a report against Hedge over paths."""
        graphdef, params = nnx.split(
            models.make_model(
                cfg.model.name, NUM_PATHS, seed=int(cfg.seed), input_dim=NUM_EDGES, init_scale=cfg.model.init_scale
            )
        )
        r = cfg.rmft
        task = ShortestPathTask(
            graphdef, cfg.env.horizon, r.num_scenarios, r.num_rollouts, cfg.env.noise_std, r.temperature
        )
        optimizer = sft.make_optimizer(cfg.sft.learning_rate, cfg.sft.grad_clip, cfg.sft.optimizer)
        update = sft.make_update(task.apply, optimizer, cfg.sft.num_steps, r.temperature)
        iteration = loop.make_iteration(task, update, settings.loop_settings(cfg))
        key_eval, key_train = jax.random.split(jax.random.key(cfg.seed))
        heldout_NxTxE = jax.vmap(lambda k: sample_losses(k, cfg.env.horizon, cfg.env.noise_std))(
            jax.random.split(key_eval, cfg.eval.num_scenarios)
        )
        mean_curve = jax.jit(lambda p: jnp.mean(expected_regret(task, p, heldout_NxTxE), axis=0))
        hedge = float(jnp.mean(full_info.hedge_regret(path_rewards(heldout_NxTxE), cfg.eval.hedge_eta)[:, -1]))

        def evaluate(p):
            """Held-out expected regret at T and the growth exponent of its mean curve."""
            curve_T = mean_curve(p)
            return {"eval_regret": float(curve_T[-1]), "beta_hat": float(regret.growth(curve_T)["beta_hat"])}

        def report(init_params, final_params, history):
            """Initial and final held-out regret against Hedge over the 4 paths."""
            results = {
                "initial": evaluate(init_params)["eval_regret"],
                "final": evaluate(final_params)["eval_regret"],
                "hedge": hedge,
                "iterations": history,
            }
            self.log(f"held-out regret {results['initial']:.3f} -> {results['final']:.3f} (Hedge {hedge:.3f})")
            return results, None

        return Run(
            iteration=jax.jit(iteration),
            params=params,
            opt_state=optimizer.init(params),
            key_train=key_train,
            evaluate=evaluate,
            report=report,
        )
