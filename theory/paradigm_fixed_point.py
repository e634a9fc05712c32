"""Where each paradigm lands on the theory's stochastic FOL: the best-fitting Hedge(eta-hat) and its distance.

For the paradigm study's `stochastic` setting: each seed's trained model against the Hedge family on that
seed's held-out set (`theory.fit.fit_eta`: eta-hat minimizing the mean total variation, TV at eta-hat),
the model's regret over Hedge(eta-hat)'s, and the regret-optimal eta of the same set. Does the regret-loss
land on Hedge where RMFT's default key did not (docs/theory.md)?
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from rmft_jax import models
from rmft_jax.intervals import mean_ci95
from rmft_jax.studies import fol_study, fol_sweep, paradigm_study
from rmft_jax.tasks.fol import task as fol
from theory import fit

ARMS = ("rmft", "regret_loss", "distill_hedge", "pg_reward")


def fits(base: Any, params: dict, seeds: list[int]) -> dict:
    """{arm: {eta_hat, tv, regret_ratio_vs_hedge_eta_hat: mean_ci95}, 'regret_optimal_eta'} for the stochastic
    setting."""
    if not any(("stochastic", arm) in params for arm in ARMS):
        return {}
    cfg = fol_study.arm_config(base, paradigm_study.SETTINGS["stochastic"][1])
    heldout = fol_sweep.heldout_sets(cfg, seeds)
    graphdef, _ = fol.build_model(cfg, seed=0)
    temperature = float(cfg.rmft.temperature)
    out = {"regret_optimal_eta": mean_ci95([float(fit.regret_optimal_eta(h)["eta"]) for h in heldout])}
    for arm in ARMS:
        if ("stochastic", arm) not in params:
            continue
        rows = []
        for i, rewards_NxTxA in enumerate(heldout):
            p = jax.tree.map(lambda x: x[i], params[("stochastic", arm)])  # noqa: B023 - called inside this iteration
            policies_NxTxA = jax.nn.softmax(models.apply(graphdef, p, rewards_NxTxA) / temperature, axis=-1)
            f = fit.fit_eta(rewards_NxTxA, policies_NxTxA)
            model = float(jnp.mean(fit.final_regret(rewards_NxTxA, policies_NxTxA)))
            hedge = float(jnp.mean(fit.family_regret(rewards_NxTxA, f["eta_hat"])))
            rows.append(
                {"eta_hat": float(f["eta_hat"]), "tv": float(f["tv"]), "regret_ratio_vs_hedge_eta_hat": model / hedge}
            )
        out[arm] = {k: mean_ci95([r[k] for r in rows]) for k in rows[0]}
    return out
