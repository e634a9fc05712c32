"""The paper's study: python -m experiments.ablations --config=experiments/configs/ablations.py --workdir=DIR."""

from experiments import cli
from rmft_jax.studies import ablations

if __name__ == "__main__":
    cli.run_config(
        "experiments/configs/ablations.py", "runs/ablations", ablations.run, "results.json and figures go here."
    )
