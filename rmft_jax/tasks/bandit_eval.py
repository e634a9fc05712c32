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
        "beta_hat": float(fit["beta_hat"]), "p_reg": float(fit["p_reg"]),
        "suff_fail_freq": {"half": float(metrics.suff_fail_freq(actions_NxT, best_N, half)),
                           "end": float(metrics.suff_fail_freq(actions_NxT, best_N, horizon - 1))},
        "k_min_frac": {"half": float(metrics.k_min_frac(actions_NxT, num_actions, half)),
                       "end": float(metrics.k_min_frac(actions_NxT, num_actions, horizon))},
        "greedy_frac": {"half": float(metrics.greedy_frac(actions_NxT, observed_NxT, num_actions, half)),
                        "end": float(metrics.greedy_frac(actions_NxT, observed_NxT, num_actions, horizon))},
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
        actions_NxT, observed_NxT = bandit_baselines.run_bandit(name, jax.random.fold_in(key, i), means_NxTxA[0],
                                                                num_runs=num, rewards=rewards_NxTxA)
        out[name] = (actions_NxT, observed_NxT, regret.pseudo_regret(means_NxTxA, actions_NxT))
    return out
