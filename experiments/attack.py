"""Worst found regret of an FOL workdir's model and the baselines: python -m experiments.attack --workdir=DIR."""

from experiments import cli
from rmft_jax.studies import attack_study

if __name__ == "__main__":
    cli.run_config(
        "experiments/configs/attack.py",
        None,
        lambda cfg, workdir: attack_study.run(workdir, cfg),
        "A trained FOL workdir; attack.json and worst_case.png go here.",
    )
