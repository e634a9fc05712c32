"""Transfer tests of a trained bandit policy: the held-out process at 2T and 4T, and the other bandit task.

A bandit run's config may list tests in `eval.transfer` (absent or empty: none). After training, every
seed's final model and reference algorithms play the same draws of each test's instances; the model's
regret (pseudo-regret on MAB, dynamic regret on NS-MAB) is reported with the references'. The model
must be horizon-free (no time feature) to be tested at 2T and 4T.

    2T, 4T       the held-out distribution (eval.env) at 2T / 4T rounds
    other_task   a MAB-trained policy on NS-MAB's default abrupt-change instances, an NS-MAB-trained one
                 on MAB's hard instance (Krishnamurthy et al.: K = 5, gap 0.2), at T
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rmft_jax import envs
from rmft_jax.intervals import mean_ci95
from rmft_jax.tasks.bandit import evaluation as bandit_eval
from rmft_jax.tasks.bandit import task as bandit

TESTS = bandit.TRANSFER_TESTS  # validated with the rest of the config (bandit.validate_config)
# The other task's instances (its default held-out process): task -> (the other task, its env fields).
OTHER_TASK = {
    "mab": ("nsmab", {"name": "abrupt", "variation_budget": 2.0, "num_changes": 4}),
    "nsmab": ("mab", {"name": "gap", "gap": 0.2, "random_best_arm": True}),
}
# The classical references each test's task is read against (the first is the ratio's denominator).
REFERENCES = {"mab": ("thompson", "ucb1"), "nsmab": ("sw_ucb", "ucb1")}


def test_env(cfg: Any, name: str) -> tuple[str, Any]:
    """(task, instance distribution) of transfer test `name` for a run configured by `cfg`."""
    horizon, num_actions = int(cfg.env.horizon), int(cfg.env.num_actions)
    if name == "other_task":
        task, fields = OTHER_TASK[cfg.task]
        fields = dict(fields)
    else:
        task, fields = cfg.task, cfg.eval.env.to_dict()
        horizon *= int(name[0])
    make = envs.make_bandit if task == "mab" else envs.make_nsmab
    env_name = fields.pop("name")
    return task, make(env_name, **{**fields, "horizon": horizon, "num_actions": num_actions})


def evaluate(cfg: Any, graphdef: Any, params_S: Any, settings: bandit.BanditSettings, key: jax.Array) -> dict:
    """{test: {task, horizon, model: mean_ci95 over seeds, references: {name: regret}, ratio: mean_ci95}}."""
    num = int(cfg.eval.num_scenarios)
    evaluate_one = jax.jit(jax.vmap(bandit.make_evaluate(graphdef, settings), in_axes=(0, None, None, None)))
    out = {}
    for i, name in enumerate(cfg.eval.get("transfer", ())):
        task, env = test_env(cfg, name)
        key_draw, key_model, key_refs = jax.random.split(jax.random.fold_in(key, i), 3)
        draws = envs.sample_batch(env, key_draw, num)
        _, _, curves_SxNxT = evaluate_one(params_S, draws.means_TxA, draws.rewards_TxA, key_model)
        model = [float(v) for v in np.asarray(jnp.mean(curves_SxNxT[:, :, -1], axis=1))]
        refs = {
            ref: float(jnp.mean(curves[:, -1]))
            for ref, (_, _, curves) in bandit_eval.run_baselines(
                REFERENCES[task], key_refs, draws.means_TxA, draws.rewards_TxA
            ).items()
        }
        first = refs[REFERENCES[task][0]]
        out[name] = {
            "task": task,
            "horizon": int(draws.means_TxA.shape[1]),
            "model": mean_ci95(model),
            "references": refs,
            "reference": REFERENCES[task][0],
            "ratio": mean_ci95([m / first for m in model]),
        }
    return out
