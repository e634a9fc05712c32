"""Held-out bandit evaluation: a method's regret, growth fit and exploration statistics in one entry.

Every method (model or classical baseline) is scored on the same held-out instances and reward draws
(common random numbers): `method_stats` turns its actions into the results.json entry. The best arm
of an instance, for SuffFailFreq, is the arm of highest mean in the last round (for a stationary MAB,
the best arm; for NS-MAB, the one to be on at the end).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rmft_jax import metrics, regret
from rmft_jax.baselines import bandit_bayes, nsmab_bayes
from rmft_jax.baselines import bandits as bandit_baselines

ADAPT_WINDOW = 20  # rounds after a change of the best arm in which adaptation is measured


def change_adaptation(means_NxTxA: Any, actions_NxT: Any, window: int = ADAPT_WINDOW) -> float:
    """Share of rounds s in [t, t + window) spent on the best arm of round s, over every change t of the best arm.

    A change is a round t >= 1 whose best arm differs from round t-1's; windows are cut at T.
    NaN when no instance has a change.
    """
    best_NxT = np.argmax(np.asarray(means_NxTxA), axis=-1)
    on_best_NxT = (np.asarray(actions_NxT) == best_NxT).astype(np.float64)
    horizon = best_NxT.shape[1]
    cum_NxT1 = np.concatenate([np.zeros((best_NxT.shape[0], 1)), np.cumsum(on_best_NxT, axis=1)], axis=1)
    runs, rounds = np.nonzero(best_NxT[:, 1:] != best_NxT[:, :-1])
    rounds = rounds + 1
    if runs.size == 0:
        return float("nan")
    ends = np.minimum(rounds + window, horizon)
    shares = (cum_NxT1[runs, ends] - cum_NxT1[runs, rounds]) / (ends - rounds)
    return float(np.mean(shares))


def method_stats(curves_NxT: Any, actions_NxT: Any, observed_NxT: Any, means_NxTxA: Any, task: str) -> dict:
    """The results.json entry: regret at T (mean), beta_hat, p_reg, exploration statistics at T/2 and T."""
    curves_NxT, actions_NxT = jnp.asarray(curves_NxT), jnp.asarray(actions_NxT, jnp.int32)
    fit = jax.device_get(regret.growth(jnp.mean(curves_NxT, axis=0)))
    num_actions, horizon = np.shape(means_NxTxA)[-1], np.shape(actions_NxT)[1]
    best_N = jnp.argmax(jnp.asarray(means_NxTxA)[:, -1], axis=-1)
    half = horizon // 2
    stats = {
        "regret": float(jnp.mean(curves_NxT[:, -1])),
        "regret_sem": float(jnp.std(curves_NxT[:, -1]) / np.sqrt(curves_NxT.shape[0])),
        "beta_hat": float(fit["beta_hat"]),
        "p_reg": float(fit["p_reg"]),
        "suff_fail_freq": {
            "half": float(metrics.suff_fail_freq(actions_NxT, best_N, half)),
            "end": float(metrics.suff_fail_freq(actions_NxT, best_N, horizon - 1)),
        },
        "k_min_frac": {
            "half": float(metrics.k_min_frac(actions_NxT, num_actions, half)),
            "end": float(metrics.k_min_frac(actions_NxT, num_actions, horizon)),
        },
        "greedy_frac": {
            "half": float(metrics.greedy_frac(actions_NxT, observed_NxT, num_actions, half)),
            "end": float(metrics.greedy_frac(actions_NxT, observed_NxT, num_actions, horizon)),
        },
    }
    if task == "nsmab":
        stats["adapt_share"] = change_adaptation(means_NxTxA, actions_NxT)
    return stats


def mean_over_seeds(per_seed: list[dict]) -> dict:
    """One entry from per-seed entries: every number is the mean over seeds; `per_seed` keeps the list."""

    def mean(values):
        """Mean of numbers, or of dicts of numbers, key by key."""
        if isinstance(values[0], dict):
            return {k: mean([v[k] for v in values]) for k in values[0]}
        return float(np.mean(values))

    out = mean(per_seed)
    if len(per_seed) > 1:
        out["regret_sd_over_seeds"] = float(np.std([p["regret"] for p in per_seed], ddof=1))
        out["per_seed"] = per_seed
    out["num_seeds"] = len(per_seed)
    return out


def run_baselines(names: tuple, key: jax.Array, means_NxTxA: jax.Array, rewards_NxTxA: jax.Array) -> dict:
    """{name: (actions (N, T), observed rewards (N, T), regret curves (N, T))} on the held-out reward tables."""
    out = {}
    num = means_NxTxA.shape[0]
    for i, name in enumerate(names):
        actions_NxT, observed_NxT = bandit_baselines.run_bandit(
            name, jax.random.fold_in(key, i), means_NxTxA[0], num_runs=num, rewards=rewards_NxTxA
        )
        out[name] = (actions_NxT, observed_NxT, regret.pseudo_regret(means_NxTxA, actions_NxT))
    return out


# Informed policies: they know the training prior (its parameters come from the training config's env).
INFORMED = {**{n: "gap" for n in bandit_bayes.GAP_ALGORITHMS}, **{n: "abrupt" for n in nsmab_bayes.ABRUPT_ALGORITHMS}}


def reference_kind(name: str) -> str:
    """prior_free (a bandit algorithm), oracle (reads the instance's change points) or informed (knows the prior)."""
    if name in INFORMED:
        return "informed"
    return "oracle" if bandit_baselines.ALGORITHMS[name].restarts else "prior_free"


def prior_hparams(cfg: Any, name: str) -> dict | None:
    """The informed policy's hyperparameters from the training distribution cfg.env; None when it is not its prior."""
    family = INFORMED.get(name)
    if family is None:
        return {}
    if family != cfg.env.name:
        return None  # e.g. gap posterior policies on a RandomMAB training prior: not applicable
    if family == "gap":
        if cfg.env.get("gap_range") is None or not cfg.env.get("random_best_arm", True):
            return None
        low, high = (float(v) for v in cfg.env.gap_range)
        return {"gap_low": low, "gap_high": high}
    return {
        "num_changes": int(cfg.env.num_changes),
        "variation_budget": float(cfg.env.variation_budget),
        "horizon": int(cfg.env.horizon),
    }


def run_per_instance(
    names: tuple, key: jax.Array, means_NxTxA: jax.Array, rewards_NxTxA: jax.Array, hparams: dict | None = None
) -> dict:
    """Like run_baselines, one run per instance (vmapped): an oracle sees each instance's own change points."""
    out = {}
    num, horizon, num_actions = means_NxTxA.shape
    for i, name in enumerate(names):
        items = bandit_baselines.resolve_hparams(name, horizon, num_actions, **(hparams or {}).get(name, {}))
        rollout = bandit_baselines.make_bandit_fn(name, 1, items)
        keys = jax.random.split(jax.random.fold_in(key, i), num)
        actions_Nx1xT, observed_Nx1xT = jax.jit(jax.vmap(rollout))(keys, means_NxTxA, rewards_NxTxA)
        actions_NxT = actions_Nx1xT[:, 0]
        out[name] = (actions_NxT, observed_Nx1xT[:, 0], regret.pseudo_regret(means_NxTxA, actions_NxT))
    return out


def grade(methods: dict, kinds: dict, model: str = "rmft", initial: str = "initial") -> dict | None:
    """The model against the best prior-free algorithm (named) and the best informed policy (the limit, an upper
    bound on the Bayes-optimal regret); gap closed = (initial - model) / (initial - limit). None without both."""
    prior_free = {n: methods[n]["regret"] for n, k in kinds.items() if k == "prior_free" and n in methods}
    informed = {n: methods[n]["regret"] for n, k in kinds.items() if k == "informed" and n in methods}
    if model not in methods or not prior_free or not informed:
        return None
    best_name, limit_name = min(prior_free, key=prior_free.get), min(informed, key=informed.get)
    value, limit = methods[model]["regret"], informed[limit_name]
    out = {
        "best_prior_free": best_name,
        "best_prior_free_regret": prior_free[best_name],
        "limit": limit_name,
        "limit_regret": limit,
        "ratio_to_best_prior_free": value / prior_free[best_name],
        "ratio_to_limit": value / limit,
        "excess_over_limit": value - limit,
    }
    if initial in methods:
        out["gap_closed"] = metrics.gap_closed(methods[initial]["regret"], value, limit)
    return out
