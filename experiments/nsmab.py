"""Iterative RMFT on non-stationary bandits (dynamic regret): python -m experiments.nsmab --workdir=DIR."""

from experiments import cli

if __name__ == "__main__":
    cli.run_config("experiments/configs/nsmab.py", "runs/nsmab")
