"""Classical baselines on FOL, MAB and NS-MAB: python -m experiments.baselines --config=... --workdir=DIR."""

from experiments import cli
from rmft_jax.studies import baseline_suite

if __name__ == "__main__":
    cli.run_config(
        "experiments/configs/baselines.py",
        "runs/baselines",
        baseline_suite.run,
        "results.json and regret_curves.png go here.",
    )
