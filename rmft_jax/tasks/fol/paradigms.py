"""FOL's side of the training paradigms (`rmft_jax.core.paradigms`): the config section and the distillation teacher.

The `paradigm` config section (absent in configs made before it: Iterative RMFT) picks what an FOL
iteration trains on; distillation's teacher is Hedge (eta given, or 0 = tuned on the training mix), FTL, or the
Bayes policy of the training distribution (`baselines.fol_bayes`: the limit itself, a push toward it).
"""

from __future__ import annotations

import functools
from typing import Any

import jax

from rmft_jax import _checks, envs
from rmft_jax.baselines import fol_bayes, full_info
from rmft_jax.core import paradigms
from rmft_jax.tasks import settings
from rmft_jax.tasks.fol import adversarial
from rmft_jax.tasks.fol import env as fol_env

PARADIGM_DEFAULTS = {
    "name": "rmft",
    "teacher": "hedge",
    "teacher_eta": 0.0,
    "pg_return": "reward",
    "clip": 0.2,
    "rows": "all",
}
TEACHERS = ("hedge", "ftl", "bayes")


def paradigm_settings(cfg: Any) -> paradigms.ParadigmSettings:
    """The config's `paradigm` section (absent: Iterative RMFT); teacher_eta 0 = Hedge tuned on the training mix."""
    p = settings.paradigm_section(cfg, PARADIGM_DEFAULTS)
    eta = float(p["teacher_eta"])
    if p["name"] == "distill" and p["teacher"] == "hedge" and eta == 0.0:
        eta = tuned_hedge_eta(fol_env.build_env(cfg), tuple(float(x) for x in cfg.eval.eta_grid))
    return paradigms.ParadigmSettings(p["name"], p["teacher"], eta, p["pg_return"], float(p["clip"]), p["rows"])


@functools.cache
def tuned_hedge_eta(env: Any, grid: tuple) -> float:
    """Hedge's eta with the least mean regret at T on 1024 draws of the training mix `env` (a fixed key of its own)."""
    return full_info.tune_hedge_eta(envs.sample_batch(env, jax.random.key(20261203), 1024), grid)[0]


def teacher_policies(name: str, eta: float, rewards_xTxA: jax.Array, env: Any = None) -> jax.Array:
    """A distillation teacher's policies (..., T, A) on reward tables: Hedge(eta), FTL or the Bayes policy of `env`."""
    if name == "bayes":
        return fol_bayes.bayes_policies(env, rewards_xTxA)
    return full_info.ftrl(rewards_xTxA, eta) if name == "hedge" else full_info.ftl(rewards_xTxA)


def validate(cfg: Any) -> None:
    """Check the config's `paradigm` section; ValueError says what to fix."""
    p = settings.paradigm_section(cfg, PARADIGM_DEFAULTS)
    settings.validate_paradigm(p, TEACHERS)
    _checks.check_positive("paradigm.teacher_eta", p["teacher_eta"], allow_zero=True)
    if p["name"] == "rmft":
        return
    a = adversarial.settings(cfg)
    if a["adaptive_share"] or a["attack_share"] or cfg.rmft.independent_rewards:
        raise ValueError(
            f"paradigm {p['name']!r} runs on shared oblivious tables: set adversary.adaptive_share, "
            "adversary.attack_share to 0 and rmft.independent_rewards to False."
        )
    if p["name"] in ("distill", "policy_gradient") and (
        cfg.rmft.exploration != "sample" or cfg.sft.target != "actions"
    ):
        raise ValueError(
            f"paradigm {p['name']!r} imitates or scores sampled actions: it needs "
            "rmft.exploration='sample' and sft.target='actions'."
        )
