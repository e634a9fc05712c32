"""The paper's bandit ablations (MAB, NS-MAB): iteration and selection rule, each arm a multi-seed run.

An arm is a name and dotted config overrides of the task's base config (experiments/configs/mab.py
or nsmab.py), trained from scratch for S consecutive seeds with `bandit_train.run` (the seeds'
iterations vmapped into one compiled call; checkpoints in WORKDIR/bandit/ARM make an interrupted
study resume). Arms with identical configs are trained once. Edit STUDIES to add an ablation.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Any

from rmft_jax.intervals import below, compare, mean_ci95
from rmft_jax.studies import fol_study
from rmft_jax.studies.arms import ArmRunner
from rmft_jax.tasks.bandit import task as bandit
from rmft_jax.training import bandit_train

RULES = ("regret", "reward", "random")
# study name -> (task, the paper's claim it tests, [(arm name, {dotted config field: value})]).
STUDIES: dict[str, tuple[str, str, list[tuple[str, dict]]]] = {
    "mab_iteration": (
        "mab",
        "iteration matters (MAB): iterative RMFT beats one round with the same number of SFT steps",
        [("iterative", {}), ("one_round", {"one_round": True})],
    ),
    "mab_selection": (
        "mab",
        "the filter on stationary stochastic bandits (pseudo-regret vs realized reward vs none)",
        [(rule, {"rmft.selection": rule}) for rule in RULES],
    ),
    "nsmab_selection": (
        "nsmab",
        "regret beats reward as the filter (non-stationary bandits, dynamic regret)",
        [(rule, {"rmft.selection": rule}) for rule in RULES],
    ),
    # Training paradigms on bandits (rmft_jax/core/paradigms.py): where the reward and the regret return of
    # the policy gradient differ (pseudo-regret from the means, reward with the arms' noise).
    "mab_paradigms": (
        "mab",
        "paradigms on MAB: RMFT vs distillation of UCB1 / Thompson vs RL with return = reward or minus regret",
        [
            ("rmft", {}),
            ("distill_ucb1", {"paradigm.name": "distill", "paradigm.teacher": "ucb1"}),
            ("distill_thompson", {"paradigm.name": "distill", "paradigm.teacher": "thompson"}),
            ("pg_reward", {"paradigm.name": "policy_gradient"}),
            ("pg_regret", {"paradigm.name": "policy_gradient", "paradigm.pg_return": "regret"}),
        ],
    ),
    "nsmab_paradigms": (
        "nsmab",
        "paradigms on NS-MAB: RMFT vs distillation of SW-UCB vs RL with return = reward or minus regret",
        [
            ("rmft", {}),
            ("distill_sw_ucb", {"paradigm.name": "distill", "paradigm.teacher": "sw_ucb"}),
            ("pg_reward", {"paradigm.name": "policy_gradient"}),
            ("pg_regret", {"paradigm.name": "policy_gradient", "paradigm.pg_return": "regret"}),
        ],
    ),
}
# task -> the classical baseline an arm is compared with (the reference for that setting)
REFERENCE = {"mab": "thompson", "nsmab": "sw_ucb"}


def check_seeds(seeds: list[int]) -> None:
    """Bandit arms train seeds cfg.seed .. cfg.seed + S - 1: the list must be consecutive integers."""
    if not seeds or list(seeds) != list(range(seeds[0], seeds[0] + len(seeds))):
        raise ValueError(
            f"bandit studies train consecutive seeds (cfg.seed .. cfg.seed + S - 1); got {list(seeds)}: "
            f"give seeds like (0, 1, 2, 3, 4)."
        )


def arm_config(base: Any, overrides: dict, seeds: list[int]) -> Any:
    """The arm's config: overrides applied, scratch init only, one run per seed."""
    cfg = fol_study.arm_config(base, overrides)
    with cfg.unlocked():
        cfg.seed = int(seeds[0])
        cfg.inits.scratch, cfg.inits.greedy = len(seeds), 0
    return cfg


def arm_summary(results: dict, task: str) -> dict:
    """Per-seed numbers of an arm's RMFT model as mean_ci95 dicts, plus its initial model and reference."""
    methods = results["methods"]
    rmft_seeds = methods["rmft"].get("per_seed", [methods["rmft"]])
    initial_seeds = methods["initial"].get("per_seed", [methods["initial"]])

    def stat(rows, key, sub=None):
        return mean_ci95([r[key][sub] if sub else r[key] for r in rows])

    final = {
        "regret": stat(rmft_seeds, "regret"),
        "beta_hat": stat(rmft_seeds, "beta_hat"),
        "suff_fail_freq_half": stat(rmft_seeds, "suff_fail_freq", "half"),
        "k_min_frac_end": stat(rmft_seeds, "k_min_frac", "end"),
    }
    if task == "nsmab":
        final["adapt_share"] = stat(rmft_seeds, "adapt_share")
    ref = REFERENCE[task]
    return {
        "final": final,
        "initial": {"regret": stat(initial_seeds, "regret")},
        "reference": {"name": ref, "regret": methods[ref]["regret"]},
        "grade": results.get("grade"),  # best prior-free, best informed (limit), gap closed (of the seed mean)
        "train_seconds": results["runs"]["scratch"]["train_seconds"],
        "compile_seconds": results["runs"]["scratch"]["compile_seconds"],
        "transfer": results.get("transfer", {}),
        **_teacher(results),
    }


def _teacher(results: dict) -> dict:
    """{"teacher": {name, regret}} for a distillation arm whose teacher was evaluated on the held-out set."""
    paradigm = results["config"].get("paradigm", {})
    name = paradigm.get("teacher")
    if paradigm.get("name") != "distill" or name not in results["methods"]:
        return {}
    return {"teacher": {"name": name, "regret": results["methods"][name]["regret"]}}


def validate_studies(bases: dict[str, Any], studies: tuple[str, ...], seeds: list[int]) -> dict:
    """Every arm's config {(study, arm): cfg}, each validated; ValueError before anything trains."""
    check_seeds(seeds)
    for name in studies:
        if name not in STUDIES:
            raise ValueError(f"unknown bandit study {name!r}; choose from {sorted(STUDIES)}.")
    configs = {}
    for name in studies:
        task, _, arms = STUDIES[name]
        for arm, overrides in arms:
            cfg = arm_config(bases[task], overrides, seeds)
            bandit.validate_config(cfg)
            configs[name, arm] = cfg
    return configs


def run_studies(
    bases: dict[str, Any], studies: tuple[str, ...], seeds: list[int], workdir: str, log: Callable[[str], None] = print
) -> dict:
    """Train every arm of every chosen bandit study (deduplicated); `bases` maps task -> base config."""
    configs = validate_studies(bases, studies, seeds)
    runner = ArmRunner(
        lambda cfg, arm_dir: arm_summary(bandit_train.run(copy.deepcopy(cfg), arm_dir, log=log), cfg.task),
        os.path.join(workdir, "bandit"),
        log,
    )
    results: dict[str, Any] = {}
    for name in studies:
        task, claim, arm_list = STUDIES[name]
        log(f"study {name}: {claim}")
        results[name] = {"task": task, "claim": claim, "seeds": list(seeds), "arms": {}}
        for arm, overrides in arm_list:
            summary = runner.train(configs[name, arm], f"{task}_{arm}")
            results[name]["arms"][arm] = {"overrides": overrides, **summary}
    return results


def transfer_tally(arms: dict) -> str:
    """'RMFT vs ARM: better in w, worse in l, tied in t' over the transfer tests (regret, 95% intervals)."""
    rmft = arms.get("rmft", {}).get("transfer", {})
    parts = []
    for arm, a in arms.items():
        if arm == "rmft" or not a.get("transfer"):
            continue
        verdicts = [
            compare(rmft[test]["model"], a["transfer"][test]["model"], "rmft", arm)
            for test in rmft
            if test in a["transfer"]
        ]
        wins, losses = sum(v.startswith("rmft") for v in verdicts), sum(v.startswith(arm) for v in verdicts)
        parts.append(f"RMFT vs {arm}: better in {wins}, worse in {losses}, tied in {len(verdicts) - wins - losses}")
    return "; ".join(parts)


def paradigm_checks(name: str, arms: dict) -> dict[str, str]:
    """A paradigm study's sanity lines (reward RL improves on the initial model; distilled vs teacher) and transfer."""
    out = {}
    if "pg_reward" in arms:
        pg, init = arms["pg_reward"]["final"]["regret"], arms["pg_reward"]["initial"]["regret"]
        out[f"sanity policy gradient ({name})"] = (
            f"{'pass' if below(pg, init) else 'FAIL'}: {pg['mean']:.2f} ± "
            f"{pg['ci95']:.2f} after training, {init['mean']:.2f} before"
        )
    for arm, a in arms.items():
        if "teacher" in a:
            t, r = a["teacher"], a["final"]["regret"]
            out[f"distillation ({name}, {arm})"] = (
                f"{r['mean'] / t['regret']:.3f} x {t['name']}'s regret "
                f"({r['mean']:.2f} ± {r['ci95']:.2f} vs {t['regret']:.2f})"
            )
    tally = transfer_tally(arms)
    if tally:
        out[f"transfer ({name})"] = tally
    return out


def verdicts(results: dict) -> dict[str, str]:
    """One line per bandit study: does the measurement support the claim (95% intervals over seeds)?"""
    out = {}
    for name, study in results.items():
        arms = {arm: a["final"]["regret"] for arm, a in study["arms"].items()}
        text = ", ".join(f"{arm} {r['mean']:.2f} ± {r['ci95']:.2f}" for arm, r in arms.items())
        if name.endswith("_iteration"):
            verdict = "reproduced" if below(arms["iterative"], arms["one_round"]) else "not reproduced"
        elif name.endswith("_paradigms"):  # the signal (RL returns) and the paradigm (RMFT vs reward RL)
            verdict = (
                f"{compare(arms['pg_regret'], arms['pg_reward'], 'RL on regret', 'RL on reward')}; "
                f"{compare(arms['rmft'], arms['pg_reward'], 'RMFT', 'RL on reward')}"
            )
        else:
            verdict = compare(arms["regret"], arms["reward"], "regret", "reward")
        out[name] = f"{verdict}: {text}"
        if name.endswith("_paradigms"):
            out.update(paradigm_checks(name, study["arms"]))
    return out
