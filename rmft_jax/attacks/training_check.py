"""The end-of-run worst-case check of an FOL training run: the model and tuned Hedge at the training horizon.

Both are attacked with one budget and key (cfg.attack; `rmft_jax.worst_case_regret`); each number is a
lower bound on the true worst case. `rmft_jax.studies.attack_study` attacks a finished workdir across horizons.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from rmft_jax import models
from rmft_jax.attacks.worst_case import AttackBudget, worst_case_regret
from rmft_jax.baselines import full_info


def model_policy(graphdef, params, temperature: float) -> Callable[[jax.Array], jax.Array]:
    """The model as a policy function rewards (B, T, A) -> policies (B, T, A)."""
    return lambda r: jax.nn.softmax(models.apply(graphdef, params, r) / temperature, axis=-1)


def training_worst_case(cfg: Any, graphdef, params, eta_tuned: float, hedge: dict | None = None) -> dict:
    """The end-of-run check: worst found regret of the model and of tuned Hedge at the training horizon.

    `hedge` is `hedge_worst_case(cfg, eta_tuned)` when already computed (it does not depend on the model).
    """
    budget = AttackBudget.from_config(cfg.attack)
    horizon, num_actions = int(cfg.env.horizon), int(cfg.env.num_actions)
    model = worst_case_regret(
        model_policy(graphdef, params, float(cfg.rmft.temperature)),
        horizon,
        num_actions,
        jax.random.key(int(cfg.attack.get("seed", 0))),
        budget,
    )
    hedge = hedge if hedge is not None else hedge_worst_case(cfg, eta_tuned)
    return {
        "horizon": horizon,
        "model": model["worst"],
        "model_method": model["worst_method"],
        "hedge_tuned": hedge["worst"],
        "ratio_to_hedge_tuned": model["worst"] / hedge["worst"],
        "by_method": model["by_method"],
        "budget": budget.__dict__,
    }


def hedge_worst_case(cfg: Any, eta_tuned: float) -> dict:
    """The end-of-run check's baseline: tuned Hedge attacked with the same budget and key as the model."""
    return worst_case_regret(
        lambda r: full_info.ftrl(r, eta_tuned),
        int(cfg.env.horizon),
        int(cfg.env.num_actions),
        jax.random.key(int(cfg.attack.get("seed", 0))),
        AttackBudget.from_config(cfg.attack),
    )
