"""On-distribution regret against worst-case regret: how much adversarial training a policy needs.

Each arm trains the FOL config with a share s of the M scenarios adversarial (half adaptive
adversaries, half attack-made tables; `rmft_jax.tasks.fol.adversarial`) for every seed in one compiled call
(`fol_sweep.run_seeds`), then measures per seed (a) the held-out regret on the default mix, against
Hedge tuned on the same draws, and (b) the worst found regret at the training horizon
(`rmft_jax.attacks`), against the worst found for that tuned Hedge by the same search, and both against
AdaHedge (parameter-free) and the Bayes policy of the mix (the on-distribution limit). The figure puts
each seed at (a / AdaHedge's, b / AdaHedge's), with tuned Hedge and the Bayes policy as points: the lower
left is better on both.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable
from typing import Any

import jax

from rmft_jax import attacks
from rmft_jax.attacks import training_check
from rmft_jax.baselines import adaptive_hedge, full_info
from rmft_jax.intervals import mean_ci95
from rmft_jax.studies import attack_study, fol_sweep
from rmft_jax.studies.arms import arm_tag
from rmft_jax.tasks.fol import task as fol
from rmft_jax.training import workdir_files


def arm_config(base: Any, share: float, model: Any | None = None) -> Any:
    """The base config with share s adversarial (s/2 adaptive, s/2 attack-made) and, optionally, another model."""
    cfg = copy.deepcopy(base)
    with cfg.unlocked():
        cfg.adversary.adaptive_share = cfg.adversary.attack_share = float(share) / 2
        if model is not None:
            for section in ("model", "rmft", "sft"):
                cfg[section] = copy.deepcopy(model[section])
    fol.validate_config(cfg)
    return cfg


def worst_per_seed(cfg: Any, params_S: Any, per_seed: list[dict], budget, key, hedge_cache: dict) -> list[dict]:
    """Worst found regret at T of each seed's model and of the Hedge tuned on that seed's held-out set."""
    graphdef, _ = fol.build_model(cfg, seed=0)
    horizon, num_actions = int(cfg.env.horizon), int(cfg.env.num_actions)
    rows = []
    for i, record in enumerate(per_seed):
        params = jax.tree.map(lambda x: x[i], params_S)  # noqa: B023 - called inside this iteration
        policy = training_check.model_policy(graphdef, params, float(cfg.rmft.temperature))
        model = attacks.worst_case_regret(policy, horizon, num_actions, key, budget)
        eta = record["ftrl"]["eta"]
        if eta not in hedge_cache:
            hedge_cache[eta] = attacks.worst_case_regret(
                lambda r: full_info.ftrl(r, eta),  # noqa: B023 - called inside this iteration
                horizon,
                num_actions,
                key,
                budget,
            )["worst"]
        for name, make in (
            ("adahedge", lambda: adaptive_hedge.adahedge),
            ("bayes", lambda: attack_study.bayes_policy(cfg, horizon)),
        ):
            if name not in hedge_cache:  # neither depends on the seed: one attack each
                hedge_cache[name] = attacks.worst_case_regret(make(), horizon, num_actions, key, budget)["worst"]
        rows.append(
            {
                "seed": record["seed"],
                "regret": record["final"]["eval_regret"],
                "hedge_regret": record["ftrl"]["eval_regret"],
                "worst": model["worst"],
                "worst_method": model["worst_method"],
                "hedge_worst": hedge_cache[eta],
                "hedge_eta": eta,
                "adahedge_regret": record["adahedge"]["eval_regret"],
                "adahedge_worst": hedge_cache["adahedge"],
                "bayes_regret": record["bayes"]["eval_regret"],
                "bayes_worst": hedge_cache["bayes"],
            }
        )
    return rows


def summarize(rows: list[dict]) -> dict:
    """Mean and 95% interval over seeds of each measurement and of the two ratios to Hedge."""
    out = {k: mean_ci95([r[k] for r in rows]) for k in ("regret", "hedge_regret", "worst", "hedge_worst")}
    out["regret_ratio"] = mean_ci95([r["regret"] / r["hedge_regret"] for r in rows])
    out["worst_ratio"] = mean_ci95([r["worst"] / r["hedge_worst"] for r in rows])
    # Against the parameter-free reference (the Pareto front is drawn against it) and the Bayes limit.
    for k in ("adahedge_regret", "adahedge_worst", "bayes_regret", "bayes_worst"):
        out[k] = mean_ci95([r[k] for r in rows])
    out["regret_ratio_adahedge"] = mean_ci95([r["regret"] / r["adahedge_regret"] for r in rows])
    out["worst_ratio_adahedge"] = mean_ci95([r["worst"] / r["adahedge_worst"] for r in rows])
    return out


def run(cfg: Any, workdir: str, log: Callable[[str], None] = print) -> dict:
    """Train and measure every arm (model x share); write tradeoff.json and tradeoff.png into `workdir`."""
    budget = attacks.AttackBudget.from_config(cfg.attack)
    seeds = [int(s) for s in cfg.seeds]
    os.makedirs(workdir, exist_ok=True)
    key, hedge_cache, arms = jax.random.key(int(cfg.attack.seed)), {}, {}
    start = time.perf_counter()
    for model_name, spec in cfg.models.items():
        model_seeds = seeds[: int(spec.num_seeds)]
        for share in spec.shares:
            name = f"{model_name} share={float(share):.2f}"
            arm_cfg = arm_config(cfg.fol, share, spec.config if "config" in spec else None)
            log(f"arm {name}: training {len(model_seeds)} seeds")
            arm_dir = os.path.join(workdir, "arms", f"{model_name}_{arm_tag(arm_cfg)}")  # checkpointed, resumable
            out = fol_sweep.run_seeds(arm_cfg, model_seeds, log=log, workdir=arm_dir)
            rows = worst_per_seed(arm_cfg, out["params"], out["per_seed"], budget, key, hedge_cache)
            arms[name] = {
                "model": model_name,
                "share": float(share),
                "per_seed": rows,
                **summarize(rows),
                "train_seconds": out["seconds"],
            }
            a = arms[name]
            log(
                f"  regret {a['regret']['mean']:.3f} ({a['regret_ratio']['mean']:.2f}x Hedge), worst found "
                f"{a['worst']['mean']:.2f} ({a['worst_ratio']['mean']:.2f}x Hedge's)"
            )
    result = {
        "config": cfg.to_dict(),
        "arms": arms,
        "budget": budget.__dict__,
        "horizon": int(cfg.fol.env.horizon),
        "seconds": time.perf_counter() - start,
        "note": "worst found regret is a lower bound on the worst case; ratios are per seed",
    }
    workdir_files.write_json_atomic(os.path.join(workdir, "tradeoff.json"), result)
    from rmft_jax import plotting

    plotting.plot_tradeoff(arms, os.path.join(workdir, "tradeoff.png"))
    return result
