"""The paper's FOL ablations and generalization tests, each arm a seed sweep (`fol_sweep.run_seeds`).

A study is a list of arms; an arm is a name and config overrides of the base FOL config. Arms with
identical configs are trained once. Edit STUDIES to add an ablation; `experiments/configs/ablations.py`
picks which studies run, the seeds and the base config.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from rmft_jax import envs
from rmft_jax.intervals import below, compare, mean_ci95
from rmft_jax.studies import fol_sweep
from rmft_jax.studies.arms import ArmRunner
from rmft_jax.tasks.fol import grading as fol_grading
from rmft_jax.tasks.fol import task as fol

SHARED = {"model.name": "shared_linear_attention"}  # the arm whose A-free model is tested at other A
# study name -> (the paper's claim it tests, [(arm name, {dotted config field: value})]).
STUDIES: dict[str, tuple[str, list[tuple[str, dict]]]] = {
    "iteration": (
        "iteration matters: iterative RMFT beats one round of RMFT with the same number of SFT steps",
        [("iterative", {}), ("one_round", {"one_round": True})],
    ),
    "selection_adversarial": (
        "regret beats reward as the filter (stochastic + FTL-adversarial mix)",
        [("regret", {}), ("reward", {"rmft.selection": "reward"}), ("random", {"rmft.selection": "random"})],
    ),
    "selection_trends": (
        "regret beats reward as the filter (non-stationary FOL: linear and sine trends)",
        [
            (rule, {"rmft.selection": rule, "env.scenarios": ("linear_trend", "sine_trend"), "env.weights": (0.5, 0.5)})
            for rule in ("regret", "reward", "random")
        ],
    ),
    "selection_stochastic": (
        "the filter may not matter on stochastic rewards",
        [
            (rule, {"rmft.selection": rule, "env.scenarios": ("stochastic",), "env.weights": (1.0,)})
            for rule in ("regret", "reward", "random")
        ],
    ),
    "selection_independent": (
        "regret beats reward as the filter when each rollout draws its own rewards (the comparator varies)",
        [(rule, {"rmft.selection": rule, "rmft.independent_rewards": True}) for rule in ("regret", "reward", "random")],
    ),
    # Action-adaptive kinds: a policy-adaptive adversary gives all L rollouts of a scenario the same
    # table (the policy is deterministic), so only these make the comparator vary per rollout.
    "selection_adaptive": (
        "regret beats reward as the filter against action-adaptive adversaries (a third adaptive, a third attack-made)",
        [
            (
                rule,
                {
                    "rmft.selection": rule,
                    "adversary.adaptive_share": 1 / 3,
                    "adversary.attack_share": 1 / 3,
                    "adversary.kinds": ("punish_last", "punish_frequent"),
                },
            )
            for rule in ("regret", "reward", "random")
        ],
    ),
    "shared_model": (
        "the price of an action-count-free model: the theory model vs its permutation-equivariant restriction",
        [("full", {}), ("shared", SHARED)],
    ),
    "target": (
        "imitating sampled actions vs imitating the selected trajectories' policies",
        [
            ("actions_sample", {}),
            ("actions_logit_noise", {"rmft.exploration": "logit_noise"}),
            ("policy_logit_noise", {"rmft.exploration": "logit_noise", "sft.target": "policy"}),
        ],
    ),
}
HELD_OUT_PROCESSES = ("uniform", "linear_trend", "sine_trend", "gaussian")


def arm_config(base: Any, overrides: dict) -> Any:
    """A copy of the base config with dotted-field overrides; 'one_round' folds all SFT into one iteration."""
    cfg = copy.deepcopy(base)
    with cfg.unlocked():
        for field, value in overrides.items():
            if field == "one_round":
                cfg.sft.num_steps = int(cfg.sft.num_steps) * int(cfg.rmft.num_iterations)
                cfg.rmft.num_iterations = 1
                continue
            node = cfg
            *path, leaf = field.split(".")
            for name in path:
                node = node[name]
            if leaf not in node:
                raise ValueError(f"ablation override {field!r} names no config field.")
            node[leaf] = value
    return cfg


def _summary(out: dict) -> dict:
    """The JSON-safe part of a seed sweep."""
    return {k: v for k, v in out.items() if k != "params"}


def _test_env(cfg: Any, horizon: int, process: str | None, num_actions: int) -> tuple[Any, Any]:
    """(test config, scenario sampler) of a transfer setting: the training mix or one held-out process."""
    test_cfg = copy.deepcopy(cfg)
    with test_cfg.unlocked():
        test_cfg.env.horizon, test_cfg.env.num_actions = horizon, num_actions
        if process is not None:
            test_cfg.env.scenarios, test_cfg.env.weights = (process,), (1.0,)
    env = (
        fol.build_env(test_cfg) if process is None else envs.make_fol(process, horizon=horizon, num_actions=num_actions)
    )
    return test_cfg, env


def generalization(
    cfg: Any,
    params_S: Any,
    seeds: list[int],
    horizons: tuple[int, ...],
    processes: tuple[str, ...],
    num_scenarios: int,
    shared: tuple[Any, Any] | None = None,
    action_counts: tuple[int, ...] = (),
) -> dict:
    """Trained models (one per seed) at longer horizons, held-out reward processes and (the A-free shared
    model, `shared` = (its config, params)) other action counts, each against Hedge tuned for that setting."""
    horizon, num_actions = int(cfg.env.horizon), int(cfg.env.num_actions)
    settings = [(f"train mix, T={t}", cfg, params_S, t, None, num_actions) for t in horizons]
    settings += [(f"{name}, T={horizon}", cfg, params_S, horizon, name, num_actions) for name in processes]
    if action_counts:
        shared_cfg, shared_params = shared
        settings += [
            (f"train mix, A={a} (shared model)", shared_cfg, shared_params, horizon, None, int(a))
            for a in action_counts
        ]
    out = {}
    for label, model_cfg, params, t, process, a in settings:
        graphdef, _ = fol.build_model(model_cfg, seed=0)
        evaluate = fol.make_evaluate(graphdef, float(model_cfg.rmft.temperature))
        test_cfg, env = _test_env(model_cfg, t, process, a)
        rows = []
        for i, seed in enumerate(seeds):
            # A key of its own per setting and seed, apart from training's (folded from the seed's eval key).
            key = jax.random.fold_in(jax.random.split(jax.random.key(int(seed)), 2)[0], 1000 + len(out))
            rewards_NxTxA = fol_grading.sample_heldout(env, key, num_scenarios)[0]
            curves_NxT, _ = evaluate(jax.tree.map(lambda x: x[i], params), rewards_NxTxA)  # noqa: B023 - called inside this iteration
            base, _ = fol_grading.heldout_baselines(test_cfg, rewards_NxTxA)
            model = fol_grading.curve_stats(curves_NxT)
            rows.append(
                {
                    "model": model["eval_regret"],
                    "beta_hat": model["beta_hat"],
                    "p_reg": model["p_reg"],
                    "hedge_tuned": base["ftrl"]["eval_regret"],
                    "hedge_eta": base["ftrl"]["eta"],
                    "ftl": base["ftl"]["eval_regret"],
                    "adahedge": base["adahedge"]["eval_regret"],
                    "best_prior_free": fol_grading.grade_scenario(
                        {
                            "final": model["eval_regret"],
                            "initial": model["eval_regret"],
                            **{k: v["eval_regret"] for k, v in base.items()},
                        }
                    )["best_prior_free_regret"],
                    "bayes": base["bayes"]["eval_regret"],
                }
            )
        out[label] = {key: mean_ci95([r[key] for r in rows]) for key in rows[0]}
        out[label]["ratio_to_tuned_hedge"] = mean_ci95([r["model"] / r["hedge_tuned"] for r in rows])
        out[label]["ratio_to_best_prior_free"] = mean_ci95([r["model"] / r["best_prior_free"] for r in rows])
        out[label]["excess_over_limit"] = mean_ci95([r["model"] - r["bayes"] for r in rows])
        out[label]["horizon"], out[label]["process"], out[label]["num_actions"] = t, process or "train mix", a
        out[label]["model_name"] = model_cfg.model.name
    return out


def run_studies(
    base: Any,
    studies: tuple[str, ...],
    seeds: list[int],
    gen: Any,
    log: Callable[[str], None] = print,
    workdir: str | None = None,
) -> dict:
    """Train every arm of every chosen study (deduplicated) and evaluate generalization of the base arm.

    With `workdir`, each arm's seed sweep is checkpointed in WORKDIR/fol/ARM_TAG and resumes from there.
    """
    for name in studies:
        if name not in STUDIES:
            raise ValueError(f"unknown study {name!r}; choose from {sorted(STUDIES)}.")
    runner = ArmRunner(
        lambda cfg, arm_dir: fol_sweep.run_seeds(cfg, seeds, log=log, workdir=arm_dir),
        None if workdir is None else os.path.join(workdir, "fol"),
        log,
    )
    base_params = shared_params = None
    results: dict[str, Any] = {}
    for name in studies:
        claim, arm_list = STUDIES[name]
        log(f"study {name}: {claim}")
        results[name] = {"claim": claim, "arms": {}}
        for arm, overrides in arm_list:
            cfg = arm_config(base, overrides)
            fol.validate_config(cfg)
            out = runner.train(cfg, arm)
            if not overrides:
                base_params = out["params"]
            if overrides == SHARED:
                shared_params = out["params"]
            results[name]["arms"][arm] = {
                "overrides": {k: list(v) if isinstance(v, tuple) else v for k, v in overrides.items()},
                **_summary(out),
            }
    if gen is not None and gen.enabled:
        action_counts = tuple(int(a) for a in gen.get("num_actions", ()))
        if base_params is None and (gen.horizons or gen.processes):
            log("generalization: training the base arm")
            base_params = runner.train(base, "base")["params"]
        shared_cfg = arm_config(base, SHARED)
        if action_counts and shared_params is None:
            log("generalization: training the shared (action-count-free) model")
            shared_params = runner.train(shared_cfg, "shared")["params"]
        log("generalization: longer horizons, held-out reward processes, other action counts")
        results["generalization"] = {
            "claim": "transfer across horizon, reward process and action count",
            "settings": generalization(
                base,
                base_params,
                seeds,
                tuple(int(h) for h in gen.horizons),
                tuple(gen.processes),
                int(gen.num_scenarios),
                (shared_cfg, shared_params),
                action_counts,
            ),
            "num_actions": (
                "tested with the shared model (rmft_jax/models/shared_attention.py), whose parameters "
                "do not depend on A; the full models' value/readout matrices are shaped by A, so they "
                "cannot run at another A"
            )
            if action_counts
            else "not tested in this run",
        }
    return results


def verdicts(results: dict) -> dict[str, str]:
    """One line per study: does the measurement support the claim (95% intervals over seeds)?"""
    out = {}

    def final(study: str, arm: str) -> dict:
        return results[study]["arms"][arm]["final"]["eval_regret"]

    if "iteration" in results:
        it, one = final("iteration", "iterative"), final("iteration", "one_round")
        out["iteration"] = (
            "reproduced" if below(it, one) else "not reproduced"
        ) + f": iterative {it['mean']:.2f} ± {it['ci95']:.2f} vs one round {one['mean']:.2f} ± {one['ci95']:.2f}"
    for study in (
        "selection_adversarial",
        "selection_trends",
        "selection_stochastic",
        "selection_independent",
        "selection_adaptive",
    ):
        if study in results:
            reg, rew, rnd = (final(study, a) for a in ("regret", "reward", "random"))
            same = np.allclose(reg["values"], rew["values"])
            verdict = (
                "identical (regret and reward select the same FOL trajectories)"
                if same
                else "regret better"
                if below(reg, rew)
                else "no significant difference"
            )
            out[study] = (
                f"{verdict}: regret {reg['mean']:.2f} ± {reg['ci95']:.2f}, reward {rew['mean']:.2f} ± "
                f"{rew['ci95']:.2f}, random {rnd['mean']:.2f} ± {rnd['ci95']:.2f}"
            )
    if "shared_model" in results:
        full, shared = final("shared_model", "full"), final("shared_model", "shared")
        verdict = compare(full, shared, "full model", "shared model")
        out["shared_model"] = (
            f"{verdict}: full {full['mean']:.2f} ± {full['ci95']:.2f}, "
            f"shared {shared['mean']:.2f} ± {shared['ci95']:.2f}"
        )
    if "target" in results:
        parts = [
            f"{a} {final('target', a)['mean']:.2f} ± {final('target', a)['ci95']:.2f}"
            for a in results["target"]["arms"]
        ]
        out["target"] = ", ".join(parts)
    return out
