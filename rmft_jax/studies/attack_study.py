"""Worst found regret of a trained FOL model and of the classical learners, across horizons.

`run(workdir, cfg)` (the `python -m experiments.attack` command) loads the model of an FOL workdir
and attacks it and the baselines at T in {T/2, T, 2T, 4T} (config `horizon_factors`) with one
budget (`rmft_jax.attacks.worst_case_regret`), fits each method's growth exponent of worst-case
regret in T, and writes `attack.json` and a log-log figure. Every number is a lower bound on the
true worst case: the search can only show that a sequence exists, never that none worse does.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rmft_jax import attacks
from rmft_jax.attacks.training_check import model_policy
from rmft_jax.baselines import adaptive_hedge, fol_bayes, full_info
from rmft_jax.tasks.fol import grading as fol_grading
from rmft_jax.tasks.fol import task as fol
from rmft_jax.training import runner, workdir_files

METHODS = ("model", "hedge_tuned", "hedge_theory", "hedge_anytime", "ftl", "l2_ftrl", "adahedge", "flipflop", "bayes")


def baseline_policies(horizon: int, num_actions: int, eta_tuned: float, eta_l2: float) -> dict[str, Callable]:
    """The classical learners at horizon T: Hedge (tuned eta, theory eta for T, anytime), FTL, Euclidean FTRL."""
    eta_theory = full_info.hedge_theory_eta(horizon, num_actions)
    return {
        "hedge_tuned": lambda r: full_info.ftrl(r, eta_tuned),
        "hedge_theory": lambda r: full_info.ftrl(r, eta_theory),
        # eta_t = sqrt(8 ln A / t): regret <= sqrt(2 t ln A) at every t, no horizon needed.
        "hedge_anytime": lambda r: full_info.ftrl(r, math.sqrt(8 * math.log(num_actions)), schedule="anytime"),
        "ftl": full_info.ftl,
        "l2_ftrl": lambda r: full_info.ftrl(r, eta_l2, regularizer="l2"),
        "adahedge": adaptive_hedge.adahedge,
        "flipflop": adaptive_hedge.flipflop,
    }


def bayes_policy(train_cfg: Any, horizon: int) -> Callable[[jax.Array], jax.Array]:
    """The Bayes policy of the training distribution at horizon T (the same scenario mix, built at T).

    It is piecewise constant in the rewards (an argmax): the gradient search sees how the regret moves with the
    rewards but not how the policy responds to them, so its lower bound may be weaker than for a smooth policy."""
    cfg = train_cfg.copy_and_resolve_references()
    with cfg.unlocked():
        cfg.env.horizon = int(horizon)
    env = fol.build_env(cfg)
    return lambda r: fol_bayes.bayes_policies(env, r)


def tuned_etas(train_cfg: Any, workdir: str | None = None) -> tuple[float, float]:
    """(Hedge eta, Euclidean-FTRL eta) tuned on held-out draws of the training mix at the training horizon.

    The Hedge eta is the workdir's own (results.json) when it exists, so it matches the run's report.
    """
    env = fol.build_env(train_cfg)
    key_eval, _ = jax.random.split(jax.random.key(int(train_cfg.seed)))
    heldout_NxTxA, _ = fol_grading.sample_heldout(env, key_eval, int(train_cfg.eval.num_scenarios))
    grid = [float(eta) for eta in train_cfg.eval.eta_grid]
    results_path = os.path.join(workdir, "results.json") if workdir else ""
    if results_path and os.path.exists(results_path):
        with open(results_path) as fh:
            eta_hedge = float(json.load(fh)["ftrl"]["eta"])
    else:
        eta_hedge = grid[
            int(np.argmin([float(jnp.mean(full_info.hedge_regret(heldout_NxTxA, e)[:, -1])) for e in grid]))
        ]
    l2_finals = [
        float(jnp.mean(_final_regret(heldout_NxTxA, full_info.ftrl(heldout_NxTxA, e, regularizer="l2")))) for e in grid
    ]
    return eta_hedge, grid[int(np.argmin(l2_finals))]


def _final_regret(rewards_NxTxA: jax.Array, policies_NxTxA: jax.Array) -> jax.Array:
    """Expected regret at T per sequence (N,)."""
    best_N = jnp.max(jnp.sum(rewards_NxTxA, axis=1), axis=-1)
    return best_N - jnp.sum(policies_NxTxA * rewards_NxTxA, axis=(1, 2))


def horizons_for(train_horizon: int, factors) -> list[int]:
    """The attacked horizons: round(factor * T_train), at least 2, sorted, without repeats."""
    return sorted({max(2, int(round(float(f) * train_horizon))) for f in factors})


def validate_config(cfg: Any) -> attacks.AttackBudget:
    """Check an attack config (budget, horizons, methods) before anything compiles; return the budget."""
    budget = attacks.AttackBudget.from_config(cfg)
    if not cfg.horizon_factors or any(not float(f) > 0 for f in cfg.horizon_factors):
        raise ValueError(
            f"horizon_factors must be positive multiples of the training horizon, got {tuple(cfg.horizon_factors)}."
        )
    unknown = sorted(set(cfg.methods) - set(METHODS))
    if unknown or not cfg.methods:
        raise ValueError(f"methods must be a non-empty subset of {METHODS}, got {tuple(cfg.methods)}.")
    return budget


def attack_methods(
    policies: dict[str, Callable],
    horizons: list[int],
    num_actions: int,
    budget,
    key,
    log: Callable[[str], None] = print,
) -> dict:
    """worst_regret[method][str(T)], by_method details and the method that found each worst case."""
    worst, details = {}, {}
    for name, make in policies.items():
        worst[name], details[name] = {}, {}
        for horizon in horizons:
            start = time.perf_counter()
            out = attacks.worst_case_regret(
                make(horizon), horizon, num_actions, jax.random.fold_in(key, horizon), budget
            )
            worst[name][str(horizon)] = out["worst"]
            details[name][str(horizon)] = {"by_method": out["by_method"], "worst_method": out["worst_method"]}
            log(
                f"  {name:>13} T={horizon:<4} worst found regret {out['worst']:8.3f} ({out['worst_method']}, "
                f"{time.perf_counter() - start:.1f}s)"
            )
    return {"worst_regret": worst, "details": details}


def run(workdir: str, cfg: Any, log: Callable[[str], None] = print) -> dict:
    """Attack the workdir's model and the baselines; write DIR/attack.json and DIR/worst_case.png."""
    budget = validate_config(cfg)
    from rmft_jax.training.policy import load_checkpoint_params  # orbax only when a workdir is read

    train_cfg = runner.load_config(workdir)
    if runner.task_of(train_cfg) != "fol":
        raise ValueError(
            f"{workdir} holds a {runner.task_of(train_cfg)!r} run; the worst-case attack searches FOL reward tables, "
            "so it takes FOL workdirs (the bandit attacks run inside the bandit studies)."
        )
    graphdef, params, step = load_checkpoint_params(workdir, train_cfg)
    total = int(train_cfg.rmft.num_iterations)
    if step < total:
        log(f"{workdir} is not finished: attacking its checkpoint {step} of {total} (attack.json says so).")
    train_horizon, num_actions = int(train_cfg.env.horizon), int(train_cfg.env.num_actions)
    horizons = horizons_for(train_horizon, cfg.horizon_factors)
    eta_tuned, eta_l2 = tuned_etas(train_cfg, workdir)
    temperature = float(train_cfg.rmft.temperature)

    def policy_at(name: str) -> Callable[[int], Callable]:
        if name == "model":
            return lambda horizon: model_policy(graphdef, params, temperature)
        if name == "bayes":
            return lambda horizon: bayes_policy(train_cfg, horizon)
        return lambda horizon: baseline_policies(horizon, num_actions, eta_tuned, eta_l2)[name]

    log(
        f"attacking {workdir} ({train_cfg.model.name}, trained at T={train_horizon}, A={num_actions}) at T in "
        f"{horizons}; budget {budget}"
    )
    start = time.perf_counter()
    found = attack_methods(
        {m: policy_at(m) for m in cfg.methods}, horizons, num_actions, budget, jax.random.key(int(cfg.seed)), log
    )
    exponents = {
        m: attacks.growth_exponent(horizons, [found["worst_regret"][m][str(t)] for t in horizons]) for m in cfg.methods
    }
    out = {
        "workdir": os.path.abspath(workdir),
        "checkpoint_step": step,
        "final_checkpoint": step >= total,
        "train_horizon": train_horizon,
        "num_actions": num_actions,
        "horizons": horizons,
        "budget": budget.__dict__,
        "eta": {"hedge_tuned": eta_tuned, "l2_ftrl": eta_l2},
        **found,
        "growth_exponent": exponents,
        "seconds": time.perf_counter() - start,
        "note": "worst found regret: a lower bound on the worst case over [0, 1]^{T x A}",
    }
    workdir_files.write_json_atomic(os.path.join(workdir, "attack.json"), out)
    from rmft_jax import plotting

    plotting.plot_worst_case(
        found["worst_regret"],
        horizons,
        os.path.join(workdir, "worst_case.png"),
        title=f"worst found regret ({train_cfg.model.name})",
    )
    log(format_table(out))
    return out


def format_table(out: dict) -> str:
    """A plain-text table: worst found regret per method and horizon, and the growth exponent."""
    horizons = out["horizons"]
    lines = ["method         " + "".join(f"T={t:<8}" for t in horizons) + "exponent"]
    for name, row in out["worst_regret"].items():
        lines.append(
            f"{name:<15}" + "".join(f"{row[str(t)]:<10.2f}" for t in horizons) + f"{out['growth_exponent'][name]:.2f}"
        )
    return "\n".join(lines)
