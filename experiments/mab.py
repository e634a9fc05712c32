"""Iterative RMFT on stochastic multi-armed bandits: python -m experiments.mab --workdir=DIR."""

from experiments import cli

if __name__ == "__main__":
    cli.run_config("experiments/configs/mab.py", "runs/mab")
