"""The FOL task's held-out evaluation and grading: curve statistics, the references and the Bayes limit.

Used by the FOL experiment (`training/fol_train.py`), the seed sweep and the studies alike, so each scores a
model the same way: `heldout_baselines` (FTL, Hedge tuned and at its theory eta, the prior-free references, the
Bayes policy of the training mix) and `grade` (best prior-free, the limit, gap closed).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rmft_jax import envs, metrics, regret
from rmft_jax.baselines import fol_bayes, fol_registry, full_info
from rmft_jax.tasks.fol import task as fol


def curve_stats(curves_NxT: jax.Array) -> dict[str, float]:
    """eval_regret (mean at T), beta_hat and p_reg of the mean curve, and how many rounds entered the fit."""
    fit = regret.growth(jnp.mean(curves_NxT, axis=0))
    # num_fit_rounds < T means some rounds had mean regret <= 0 (no log): the fit ignores them.
    return {
        "eval_regret": float(jnp.mean(curves_NxT[:, -1])),
        "beta_hat": float(fit["beta_hat"]),
        "p_reg": float(fit["p_reg"]),
        "num_fit_rounds": int(fit["num_points"]),
    }


# The prior-free references scored next to the model (ftl is already there); the best of them is named.
PRIOR_FREE_EXTRA = ("hedge_anytime", "adahedge", "flipflop")


def heldout_baselines(cfg: Any, rewards_NxTxA: jax.Array, env: Any = None) -> tuple[dict, dict]:
    """Stats and curves on the held-out set of: FTL, Hedge (theory eta; eta tuned on the held-out set, in-sample),
    the prior-free references (anytime Hedge, AdaHedge, FlipFlop) and the limit, the Bayes policy of cfg.env."""
    grid = [float(eta) for eta in cfg.eval.eta_grid]
    eta_tuned, finals = full_info.tune_hedge_eta(rewards_NxTxA, grid)
    eta_theory = full_info.hedge_theory_eta(cfg.env.horizon, cfg.env.num_actions)
    env = fol.build_env(cfg) if env is None else env
    curves = {
        "ftl": regret.static_regret(rewards_NxTxA, full_info.ftl(rewards_NxTxA)),
        "ftrl": full_info.hedge_regret(rewards_NxTxA, eta_tuned),
        "ftrl_theory": full_info.hedge_regret(rewards_NxTxA, eta_theory),
        **{name: fol_registry.regret_curves(name, rewards_NxTxA)[0] for name in PRIOR_FREE_EXTRA},
        "bayes": regret.static_regret(rewards_NxTxA, fol_bayes.bayes_policies(env, rewards_NxTxA)),
    }
    stats = {name: curve_stats(c) for name, c in curves.items()}
    stats["ftrl"]["eta"], stats["ftrl_theory"]["eta"] = eta_tuned, eta_theory
    stats["ftrl"]["eta_grid"], stats["ftrl"]["grid_regret"] = grid, finals
    return stats, curves


def grade_scenario(row: dict, model: str = "final") -> dict:
    """`grade` on one scenario kind's row of per_scenario ({method: mean regret at T})."""
    best_name, best = fol_registry.best_of(row, ("ftl", "ftrl_theory", *PRIOR_FREE_EXTRA))
    return {
        "best_prior_free": best_name,
        "best_prior_free_regret": best,
        "limit_regret": row["bayes"],
        "model_regret": row[model],
        "excess_over_limit": row[model] - row["bayes"],
        "gap_closed": metrics.gap_closed(row["initial"], row[model], row["bayes"]),
    }


def grade(results: dict, model: str = "final") -> dict:
    """The model against the strongest references: best prior-free classical (named), the Bayes limit, gap closed."""
    prior_free = {name: results[name]["eval_regret"] for name in ("ftl", "ftrl_theory", *PRIOR_FREE_EXTRA)}
    best_name, best = fol_registry.best_of(prior_free, tuple(prior_free))
    limit, value, initial = (
        results["bayes"]["eval_regret"],
        results[model]["eval_regret"],
        results["initial"]["eval_regret"],
    )
    return {
        "best_prior_free": best_name,
        "best_prior_free_regret": best,
        "limit": "bayes",
        "limit_regret": limit,
        "ratio_to_best_prior_free": value / best,
        "excess_over_limit": value - limit,
        "gap_closed": metrics.gap_closed(initial, value, limit),
    }


def sample_heldout(env: Any, key: jax.Array, num: int) -> tuple[jax.Array, np.ndarray]:
    """Held-out reward tables (N, T, A) and each one's scenario index into cfg.env.scenarios."""
    if isinstance(env, envs.MixtureFOL):
        rewards_NxTxA, labels_N = envs.sample_batch(env, key, num, method="sample_with_label")
        return rewards_NxTxA, np.asarray(labels_N)
    return envs.sample_batch(env, key, num), np.zeros(num, np.int32)


def per_scenario_regret(curves: dict, labels_N: np.ndarray, names: tuple) -> dict:
    """Mean regret at T of each method on each scenario kind of the held-out mixture."""
    return {
        name: {method: float(np.mean(np.asarray(c)[labels_N == i, -1])) for method, c in curves.items()}
        for i, name in enumerate(names)
        if np.any(labels_N == i)
    }
