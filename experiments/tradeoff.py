"""Adversarial share vs on-distribution and worst-case regret: python -m experiments.tradeoff --workdir=DIR."""

from experiments import cli
from rmft_jax.studies import tradeoff_study

if __name__ == "__main__":
    cli.run_config(
        "experiments/configs/tradeoff.py",
        "runs/tradeoff",
        tradeoff_study.run,
        "tradeoff.json and tradeoff.png go here.",
    )
