"""Generate docs/paradigms.md from a paradigm study's paradigms.json; never edit the document by hand.

    python -m experiments.make_paradigms --runs=runs/paradigms --fol_on_mab=runs/fol_on_mab \
        --bandit=runs/paradigms_mab --out=docs/paradigms.md
"""
from __future__ import annotations

import argparse
import os
import shutil

from experiments.make_results import interval as fmt  # 'mean ± ci95' of a mean_ci95 dict
from rmft_jax.studies import paradigm_study
from rmft_jax.training import workdir_files

COMMAND = "python -m experiments.paradigms --config=experiments/configs/paradigms.py --workdir=runs/paradigms"
FOL_ON_MAB_COMMAND = "python -m experiments.fol_on_mab --out=runs/fol_on_mab"
BANDIT_COMMAND = ("python -m experiments.ablations --config=experiments/configs/ablations.py:bandit "
                  "--config.bandit_studies=\"('mab_paradigms',)\" --config.seeds=\"(0, 1)\" --workdir=runs/paradigms_mab")


def setting_table(setting: str, arms: dict) -> list[str]:
    """One row per paradigm: regret at T, over tuned Hedge, worst found at T, transfer ratios."""
    names = [a for a in arms if a not in ("description", "hedge")]
    transfer = list(arms[names[0]]["transfer"])
    head = ["paradigm", "regret at T", "x tuned Hedge", "worst found at T"] + [f"{t} (x Hedge)" for t in transfer]
    lines = [f"### {setting}: {arms['description']}", "", "| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    for name in names:
        r = arms[name]
        cells = [f"`{name}`", fmt(r["final"]["eval_regret"]), fmt(r["ratio_to_tuned_hedge"]), fmt(r["worst_found"], 1)]
        cells += [fmt(r["transfer"][t]["ratio_to_tuned_hedge"]) for t in transfer]
        lines.append("| " + " | ".join(cells) + " |")
    first = arms[names[0]]
    lines.append(f"| tuned Hedge (eta {fmt(arms['hedge']['eta'])}) | {fmt(first['ftrl']['eval_regret'])} | 1 | "
                 f"{fmt(arms['hedge']['worst_found'], 1)} |" + " 1 |" * len(transfer))
    if "distill_hedge" in arms:
        d = arms["distill_hedge"]
        lines += ["", f"Distillation teacher: Hedge(eta = {d['paradigm']['teacher_eta']:.3g}) (tuned on 1024 draws of the "
                  f"training mix), regret {fmt(d['teacher_regret'])} on the same held-out sets; the distilled model has "
                  f"{fmt(d['ratio_to_teacher'], 3)} x the teacher's regret."]
    return lines + [""]


def fixed_point_table(fp: dict) -> list[str]:
    """eta-hat and TV to the Hedge family per paradigm on the stochastic setting."""
    if not fp:
        return ["(the stochastic setting was not run)", ""]
    lines = ["| paradigm | eta-hat | TV to Hedge(eta-hat) | regret / Hedge(eta-hat) |", "|---|---|---|---|"]
    for arm, r in fp.items():
        if arm == "regret_optimal_eta":
            continue
        lines.append(f"| `{arm}` | {fmt(r['eta_hat'])} | {fmt(r['tv'], 3)} | {fmt(r['regret_ratio_vs_hedge_eta_hat'], 3)} |")
    lines += ["", f"Regret-optimal eta on the same held-out sets: {fmt(fp['regret_optimal_eta'])} (the theory study's "
              "bars for \"is Hedge\": TV <= 0.05, regret within 5% of Hedge(eta-hat))."]
    return lines + [""]


def fol_on_mab_tables(play: dict | None) -> list[str]:
    """Per bandit instance: each FOL-trained model (importance-weighted play) against the bandit algorithms."""
    if play is None:
        return [f"Not run yet (`{FOL_ON_MAB_COMMAND}`).", ""]
    lines = [f"`{FOL_ON_MAB_COMMAND}`: FOL models {', '.join(f'`{k}` ({v})' for k, v in play['workdirs'].items())} "
             f"play Bernoulli bandits for T = {play['horizon']} rounds, {play['num_runs']} runs per instance, fed "
             "EXP3's importance-weighted estimate r_t(a_t) / p_t(a_t) on the played arm and 0 elsewhere "
             "(`rmft_jax/tasks/fol_on_bandit.py`); gamma mixes uniform exploration into their policy. Every method "
             "plays the same reward draws.", ""]
    for instance, methods in play["results"].items():
        lines += [f"**{instance}**: {methods['description']}", "",
                  "| method | pseudo-regret at T | beta-hat | SuffFailFreq(T/2) | K*MinFrac(T) |", "|---|---|---|---|---|"]
        for name, m in methods.items():
            if name == "description":
                continue
            lines.append(f"| {name} | {m['regret']:.2f} ± {1.96 * m['regret_sem']:.2f} | {m['beta_hat']:.2f} | "
                         f"{m['suff_fail_freq']['half']:.3f} | {m['k_min_frac']['end']:.2f} |")
        lines.append("")
    return lines


def bandit_tables(bandit: dict | None) -> list[str]:
    """Per bandit paradigm study: each arm's pseudo-regret and exploration over seeds, against its reference."""
    if bandit is None:
        return [f"Not run yet (`{BANDIT_COMMAND}`).", ""]
    lines = [f"`{BANDIT_COMMAND}` (the bandit default config: M = 256, L = 16, RMFT keeps k = 4, 60 iterations of "
             "50 Adam steps; distillation and the policy gradient train on all L rollouts; held-out: 1000 draws of the "
             "hard instance). Mean ± 95% interval over seeds:", ""]
    for name, study in bandit.items():
        arms = study["arms"]
        ref = next(iter(arms.values()))["reference"]
        lines += [f"**{name}** ({study['task']}, seeds {tuple(study['seeds'])}): {study['claim']}", "",
                  "| arm | pseudo-regret at T | beta-hat | SuffFailFreq(T/2) | K*MinFrac(T) | initial |",
                  "|---|---|---|---|---|---|"]
        for arm, a in arms.items():
            f = a["final"]
            lines.append(f"| `{arm}` | {fmt(f['regret'])} | {fmt(f['beta_hat'])} | {fmt(f['suff_fail_freq_half'], 3)} | "
                         f"{fmt(f['k_min_frac_end'])} | {fmt(a['initial']['regret'])} |")
        lines += [f"| {ref['name']} (reference) | {ref['regret']:.2f} | | | | |", ""]
    return lines


def write(data: dict, runs: str, out: str, play: dict | None = None, bandit: dict | None = None) -> str:
    """The markdown document (and its figure copied next to it)."""
    cfg, results = data["config"], data["results"]
    fol, study = cfg["fol"], cfg["study"]
    lines = ["# Training paradigms side by side (generated)", "",
             f"Generated by `python -m experiments.make_paradigms --runs={runs} --out={out}` from `{COMMAND}` "
             f"({data['seconds'] / 60:.1f} min on the 2-core CPU). Every number: mean ± 95% t-interval over seeds "
             f"{tuple(cfg['seeds'])}.", "",
             "Each paradigm is an update rule of the one loop (`rmft_jax/core/paradigms.py`), on the same model "
             f"(`{fol['model']['name']}`), scenario draws and keys, M = {fol['rmft']['num_scenarios']} scenarios, "
             f"{fol['rmft']['num_iterations']} iterations of {fol['sft']['num_steps']} Adam steps (lr "
             f"{fol['sft']['learning_rate']}), T = {fol['env']['horizon']}, A = {fol['env']['num_actions']}; the "
             f"sampling paradigms roll out L = {fol['rmft']['num_rollouts']} per scenario (RMFT keeps "
             f"the k = {fol['rmft']['num_selected']} lowest-regret, distillation and the policy gradient keep all):", ""]
    lines += [f"- `{name}`: {desc}" for name, (desc, _) in paradigm_study.ARMS.items() if name in study["arms"]]
    lines += ["", "Regret is the expected regret at T of the model's policies on {fol['eval']['num_scenarios']} held-out draws per seed; \"x tuned "
              "Hedge\" divides by Hedge with eta tuned on those draws (an oracle). Transfer columns are the same "
              "ratio at 2T and 4T of the training mix and on held-out reward processes at T, each against Hedge "
              "tuned for that test. \"Worst found\" is the largest regret a gradient search over reward tables and "
              f"five adaptive adversaries found at T (budget {study['attack']['restarts']} restarts x "
              f"{study['attack']['steps']} steps; a lower bound on the worst case, `docs/worst_case.md`).", ""]
    lines += ["## Results", ""]
    for setting, arms in results.items():
        lines += setting_table(setting, arms)
    lines += ["## Sanity checks and the paper's contrast claims", ""]
    lines += [f"- **{name}**: {line}" for name, line in data["verdicts"].items()]
    lines += ["", "## Where each paradigm lands on the theory's stochastic FOL", ""] + fixed_point_table(data["fixed_point"])
    lines += ["## Bandits: RMFT, distillation and RL where reward and regret differ", ""] + bandit_tables(bandit)
    lines += ["## Train on FOL, play on MAB", ""] + fol_on_mab_tables(play)
    fig_dir = os.path.join(os.path.dirname(out) or ".", "figures")
    src = os.path.join(runs, "paradigms.png")
    if os.path.exists(src):
        os.makedirs(fig_dir, exist_ok=True)
        shutil.copyfile(src, os.path.join(fig_dir, "paradigms.png"))
        lines += ["![paradigms](figures/paradigms.png)", ""]
    text = "\n".join(lines)
    with open(out, "w") as fh:
        fh.write(text)
    return text


def main() -> None:
    """Parse flags and write the document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="runs/paradigms", help="the study's workdir (paradigms.json)")
    parser.add_argument("--fol_on_mab", default="runs/fol_on_mab", help="experiments.fol_on_mab's output folder")
    parser.add_argument("--bandit", default="runs/paradigms_mab", help="the bandit paradigm study's workdir")
    parser.add_argument("--out", default="docs/paradigms.md")
    args = parser.parse_args()
    data = workdir_files.load_json(os.path.join(args.runs, "paradigms.json"))
    optional = lambda path: workdir_files.load_json(path) if os.path.exists(path) else None
    play = optional(os.path.join(args.fol_on_mab, "fol_on_mab.json"))
    bandit = (optional(os.path.join(args.bandit, "results.json")) or {}).get("studies", {}).get("bandit")
    write(data, args.runs, args.out, play, bandit)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
