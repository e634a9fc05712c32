"""Generate docs/paradigms.md from a paradigm study's paradigms.json; never edit the document by hand.

python -m experiments.make_paradigms --runs=runs/paradigms --fol_on_mab=runs/fol_on_mab --out=docs/paradigms.md
"""

from __future__ import annotations

import os
import shutil

from absl import flags

from experiments import cli
from experiments.make_results import fmt as number  # one float
from experiments.make_results import interval as fmt  # 'mean ± ci95' of a mean_ci95 dict
from rmft_jax.studies import paradigm_study
from rmft_jax.training import workdir_files

COMMAND = "python -m experiments.paradigms --config=experiments/configs/paradigms.py --workdir=runs/paradigms"
FOL_ON_MAB_COMMAND = (
    "python -m experiments.fol_on_mab --out=runs/fol_on_mab --finetune=headline --finetune_iterations=30"
)


def setting_table(setting: str, arms: dict) -> list[str]:
    """One row per paradigm: regret at T, over tuned Hedge, worst found at T, transfer ratios."""
    names = [a for a in arms if a not in ("description", "hedge")]
    transfer = list(arms[names[0]]["transfer"])
    head = ["paradigm", "regret at T", "x tuned Hedge", "worst found at T"] + [f"{t} (x Hedge)" for t in transfer]
    head += ["best prior-free", "x best prior-free", "Bayes limit", "gap closed"]
    lines = [f"### {setting}: {arms['description']}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in names:
        r = arms[name]
        cells = [f"`{name}`", fmt(r["final"]["eval_regret"]), fmt(r["ratio_to_tuned_hedge"]), fmt(r["worst_found"], 1)]
        cells += [fmt(r["transfer"][t]["ratio_to_tuned_hedge"]) for t in transfer]
        g = r.get("grade")  # runs made before grading have none
        names_pf = "/".join(sorted(set(r.get("best_prior_free_names", []))))
        cells += (
            [
                f"{names_pf} {fmt(g['best_prior_free_regret'])}",
                fmt(g["ratio_to_best_prior_free"]),
                fmt(g["limit_regret"]),
                fmt(g["gap_closed"]),
            ]
            if g
            else ["n/a"] * 4
        )
        lines.append("| " + " | ".join(cells) + " |")
    first = arms[names[0]]
    lines.append(
        f"| tuned Hedge (eta {fmt(arms['hedge']['eta'])}) | {fmt(first['ftrl']['eval_regret'])} | 1 | "
        f"{fmt(arms['hedge']['worst_found'], 1)} |" + " 1 |" * len(transfer) + " | | | |"
    )
    if "distill_hedge" in arms:
        d = arms["distill_hedge"]
        lines += [
            "",
            f"Distillation teacher: Hedge(eta = {d['paradigm']['teacher_eta']:.3g}) (tuned on 1024 draws of the "
            f"training mix), regret {fmt(d['teacher_regret'])} on the same held-out sets; the distilled model has "
            f"{fmt(d['ratio_to_teacher'], 3)} x the teacher's regret.",
        ]
    return lines + [""]


def fixed_point_table(fp: dict) -> list[str]:
    """eta-hat and TV to the Hedge family per paradigm on the stochastic setting."""
    if not fp:
        return ["(the stochastic setting was not run)", ""]
    lines = ["| paradigm | eta-hat | TV to Hedge(eta-hat) | regret / Hedge(eta-hat) |", "|---|---|---|---|"]
    for arm, r in fp.items():
        if arm == "regret_optimal_eta":
            continue
        lines.append(
            f"| `{arm}` | {fmt(r['eta_hat'])} | {fmt(r['tv'], 3)} | {fmt(r['regret_ratio_vs_hedge_eta_hat'], 3)} |"
        )
    lines += [
        "",
        f"Regret-optimal eta on the same held-out sets: {fmt(fp['regret_optimal_eta'])} (the theory study's "
        'bars for "is Hedge": TV <= 0.05, regret within 5% of Hedge(eta-hat)).',
    ]
    return lines + [""]


def fol_on_mab_tables(play: dict | None) -> list[str]:
    """Per bandit instance: each FOL-trained model (importance-weighted play) against the bandit algorithms."""
    if play is None:
        return [f"Not run yet (`{FOL_ON_MAB_COMMAND}`).", ""]
    lines = [
        f"`{FOL_ON_MAB_COMMAND}`: FOL models {', '.join(f'`{k}` ({v})' for k, v in play['workdirs'].items())} "
        f"play Bernoulli bandits for T = {play['horizon']} rounds, {play['num_runs']} runs per instance, fed "
        "EXP3's importance-weighted estimate r_t(a_t) / p_t(a_t) on the played arm and 0 elsewhere "
        "(`rmft_jax/tasks/bandit/fol_on_bandit.py`); gamma mixes uniform exploration into their policy. Every method "
        "plays the same reward draws.",
        "",
    ]
    for name, tuned in play.get("finetune", {}).items():
        st, hist = tuned["settings"], tuned["history"]
        lines += [
            f"`{name} + RMFT on MAB`: the `{name}` model after {st['iterations']} iterations of Iterative RMFT on "
            f"MAB in its own input format (`rmft_jax/tasks/bandit/fol_on_bandit_rmft.py`: M = {st['num_scenarios']} "
            f"instances with gap ~ U[0.1, 0.5], L = {st['num_rollouts']} importance-weighted rollouts, keep k = "
            f"{st['num_selected']} lowest pseudo-regret, {st['sft_steps']} Adam steps at lr {st['learning_rate']}, "
            f"gamma {st['gamma']:g} in training; {tuned['seconds']:.0f} s); its rollout regret went from "
            f"{hist[0]['rollout_regret']:.2f} to {hist[-1]['rollout_regret']:.2f}.",
            "",
        ]
    for instance, methods in play["results"].items():
        lines += [
            f"**{instance}**: {methods['description']}",
            "",
            "| method | pseudo-regret at T | beta-hat | SuffFailFreq(T/2) | K*MinFrac(T) |",
            "|---|---|---|---|---|",
        ]
        for name, m in methods.items():
            if name == "description":
                continue
            lines.append(
                f"| {name} | {m['regret']:.2f} ± {1.96 * m['regret_sem']:.2f} | {m['beta_hat']:.2f} | "
                f"{m['suff_fail_freq']['half']:.3f} | {m['k_min_frac']['end']:.2f} |"
            )
        lines.append("")
    return lines


def bandit_tables(bandit: dict | None, cfg: dict) -> list[str]:
    """Per bandit paradigm study: each arm's regret, exploration and transfer over seeds, against its reference."""
    if not bandit:
        return ["Not in this run (`--config.bandit_studies` was empty).", ""]
    m = cfg["mab"]
    lines = [
        f"The bandit half of `{COMMAND}`: the bandit default loop (M = {m['rmft']['num_scenarios']}, L = "
        f"{m['rmft']['num_rollouts']}, RMFT keeps k = {m['rmft']['num_selected']}, {m['rmft']['num_iterations']} "
        f"iterations of {m['sft']['num_steps']} Adam steps, T = {m['env']['horizon']}); "
        + (
            "distillation and the policy gradient train on k rollouts per instance, RMFT's batch size (the teacher "
            "plays k; the policy gradient draws k at random of its L, with advantages from all L)"
            if m["paradigm"].get("rows", "all") == "k"
            else "distillation and the policy gradient train on all L"
        )
        + f"; {m['eval']['num_scenarios']} held-out draws (MAB: the hard "
        "instance; NS-MAB: the training process). Regret is pseudo-regret on MAB, dynamic regret on NS-MAB. "
        "Transfer (`rmft_jax/tasks/bandit/transfer.py`): the held-out process at 2T and 4T, and the other task "
        "(MAB-trained on NS-MAB instances, NS-MAB-trained on MAB's hard instance), each as regret and as a "
        "ratio to the reference algorithm on the same draws. Mean ± 95% interval over seeds:",
        "",
    ]
    for name, study in bandit.items():
        arms = study["arms"]
        ref = next(iter(arms.values()))["reference"]
        tests = list(next(iter(arms.values())).get("transfer", {}))
        head = (
            "| arm | regret at T | beta-hat | SuffFailFreq(T/2) | K*MinFrac(T) | initial | best prior-free | "
            "limit (best informed) | gap closed |"
        )
        for test in tests:
            t = next(iter(arms.values()))["transfer"][test]
            head += f" {test}: {t['task']}, T={t['horizon']} (x {t['reference']}) |"
        lines += [
            f"**{name}** ({study['task']}, seeds {tuple(study['seeds'])}): {study['claim']}",
            "",
            head,
            "|---" * (9 + len(tests)) + "|",
        ]
        for arm, a in arms.items():
            f = a["final"]
            row = (
                f"| `{arm}` | {fmt(f['regret'])} | {fmt(f['beta_hat'])} | {fmt(f['suff_fail_freq_half'], 3)} | "
                f"{fmt(f['k_min_frac_end'])} | {fmt(a['initial']['regret'])} | {_bandit_grade(a.get('grade'))} |"
            )
            row += "".join(f" {fmt(a['transfer'][t]['model'])} ({fmt(a['transfer'][t]['ratio'])}) |" for t in tests)
            lines.append(row)
        ref_row = f"| {ref['name']} (reference) | {ref['regret']:.2f} | | | | | | | |"
        first = next(iter(arms.values())).get("transfer", {})
        ref_row += "".join(f" {first[t]['references'][first[t]['reference']]:.2f} |" for t in tests)
        lines += [ref_row, ""]
        per_arm = ", ".join(f"{arm} {a['train_seconds']:.0f} s" for arm, a in arms.items())
        lines += [f"Training time ({len(study['seeds'])} seeds vmapped): {per_arm}.", ""]
    return lines


def _bandit_grade(g: dict | None) -> str:
    """'best prior-free | limit | gap closed' cells of a bandit arm (n/a for runs made before grading)."""
    if not g:
        return "n/a | n/a | n/a"
    return (
        f"{g['best_prior_free']} {number(g['best_prior_free_regret'])} | {g['limit']} "
        f"{number(g['limit_regret'])} | {number(g.get('gap_closed'))}"
    )


def _halves(data: dict) -> str:
    """': FOL half X min, bandit half Y min' when the run timed its halves."""
    if "fol_seconds" not in data or "bandit_seconds" not in data:
        return ""
    return f": FOL half {data['fol_seconds'] / 60:.1f} min, bandit half {data['bandit_seconds'] / 60:.1f} min"


VARIANTS = {"shared_linear_attention": "shared", "transformer": "transformer"}  # model -> its paradigms.py variant


def other_model_section(workdir: str, data: dict) -> list[str]:
    """A variant's run with another model (`:shared`, `:transformer`): its loop, setting tables and verdicts."""
    fol = data["config"]["fol"]
    m = fol["model"]
    lines = [
        f"## Another model: `{m['name']}` ({workdir})",
        "",
        "`python -m experiments.paradigms --config=experiments/configs/paradigms.py:"
        f"{VARIANTS.get(m['name'], 'VARIANT')} "
        f"--workdir={workdir}` "
        f"({data['seconds'] / 60:.1f} min): model {', '.join(f'{k}={v}' for k, v in m.items())}; "
        f"{fol['rmft']['num_iterations']} iterations of {fol['sft']['num_steps']} Adam steps (lr "
        f"{fol['sft']['learning_rate']}, clip {fol['sft']['grad_clip']}), everything else as above; seeds "
        f"{tuple(data['config']['seeds'])}.",
        "",
    ]
    for setting, arms in data["results"].items():
        lines += setting_table(setting, arms)
    lines += [f"- **{name}**: {line}" for name, line in data["verdicts"].items()]
    return lines + [""]


def write(data: dict, runs: str, out: str, play: dict | None = None, others: tuple = ()) -> str:
    """The markdown document (and its figure copied next to it)."""
    cfg, results = data["config"], data["results"]
    fol, study = cfg["fol"], cfg["study"]
    lines = [
        "# Training paradigms side by side (generated)",
        "",
        f"Generated by `python -m experiments.make_paradigms --runs={runs} --out={out}` from `{COMMAND}` "
        f"({data['seconds'] / 60:.1f} min on the 2-core CPU{_halves(data)}). "
        "Every number: mean ± 95% t-interval over seeds "
        f"{tuple(cfg['seeds'])}.",
        "",
        "Each paradigm is an update rule of the one loop (`rmft_jax/core/paradigms.py`), on the same model "
        f"(`{fol['model']['name']}`), scenario draws and keys, M = {fol['rmft']['num_scenarios']} scenarios, "
        f"{fol['rmft']['num_iterations']} iterations of {fol['sft']['num_steps']} Adam steps (lr "
        f"{fol['sft']['learning_rate']}), T = {fol['env']['horizon']}, A = {fol['env']['num_actions']}; the "
        f"sampling paradigms roll out L = {fol['rmft']['num_rollouts']} per scenario (RMFT keeps "
        f"the k = {fol['rmft']['num_selected']} lowest-regret, distillation and the policy gradient keep "
        f"{'all' if fol.get('paradigm', {}).get('rows', 'all') == 'all' else 'k random'}):",
        "",
    ]
    lines += [f"- `{name}`: {desc}" for name, (desc, _) in paradigm_study.ARMS.items() if name in study["arms"]]
    lines += [
        "",
        f"Regret is the expected regret at T of the model's policies on {fol['eval']['num_scenarios']} held-out "
        'draws per seed; "x tuned '
        'Hedge" divides by Hedge with eta tuned on those draws (an oracle). Transfer columns are the same '
        "ratio at 2T and 4T of the training mix and on held-out reward processes at T, each against Hedge "
        'tuned for that test. "Worst found" is the largest regret a gradient search over reward tables and '
        f"five adaptive adversaries found at T (budget {study['attack']['restarts']} restarts x "
        f"{study['attack']['steps']} steps; a lower bound on the worst case, `docs/worst_case.md`).",
        "",
    ]
    lines += ["## Results", ""]
    for setting, arms in results.items():
        lines += setting_table(setting, arms)
    lines += [
        "## Sanity checks and the paper's contrast claims",
        "",
        "Two diagnostics tell a wrong implementation from an optimizer that stopped short. Distillation's "
        "objective is the cross-entropy to the teacher's policy, KL(teacher || model) plus a constant; Hedge(eta) "
        "is inside the single-layer model class, so a KL that stays above 0 is a local minimum, not a wrong "
        'objective. And "from Hedge(1)" trains the same arm from the model that plays Hedge(1) (a point in the '
        "class, off both targets) instead of a random initialization: an implementation that is right moves to "
        "its target from there.",
        "",
    ]
    lines += [f"- **{name}**: {line}" for name, line in {**data["verdicts"], **data.get("bandit_verdicts", {})}.items()]
    lines += ["", "## Where each paradigm lands on the theory's stochastic FOL", ""] + fixed_point_table(
        data["fixed_point"]
    )
    lines += ["## Bandits: RMFT, distillation and RL where reward and regret differ", ""] + bandit_tables(
        data.get("bandit"), cfg
    )
    lines += ["## Train on FOL, play on MAB", ""] + fol_on_mab_tables(play)
    for workdir, other in others:
        lines += other_model_section(workdir, other)
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
    """Write the document from the study's workdir and the optional extra runs."""
    data = workdir_files.load_json(os.path.join(FLAGS.runs, "paradigms.json"))

    def optional(path):
        return workdir_files.load_json(path) if os.path.exists(path) else None

    play = optional(os.path.join(FLAGS.fol_on_mab, "fol_on_mab.json"))
    others = [
        (w, workdir_files.load_json(os.path.join(w, "paradigms.json")))
        for w in FLAGS.models.split(",")
        if w and os.path.exists(os.path.join(w, "paradigms.json"))
    ]
    write(data, FLAGS.runs, FLAGS.out, play, others)
    print(f"wrote {FLAGS.out}")


if __name__ == "__main__":
    flags.DEFINE_string("runs", "runs/paradigms", "the study's workdir (paradigms.json)")
    flags.DEFINE_string("fol_on_mab", "runs/fol_on_mab", "experiments.fol_on_mab's output folder")
    flags.DEFINE_string(
        "models",
        "runs/paradigms_shared,runs/paradigms_transformer",
        "comma-separated workdirs of variant runs with other models (those that exist are added)",
    )
    flags.DEFINE_string("out", "docs/paradigms.md", "the document to write")
    FLAGS = flags.FLAGS
    cli.main(main)
