"""Training paradigms side by side: python -m experiments.paradigms --config=FILE[:VARIANT] --workdir=DIR."""

from experiments import cli
from rmft_jax.studies import paradigms
from theory import paradigm_fixed_point

if __name__ == "__main__":
    cli.run_config(
        "experiments/configs/paradigms.py",
        "runs/paradigms",
        lambda cfg, workdir: paradigms.run(cfg, workdir, paradigm_fixed_point.fits),
        "paradigms.json and paradigms.png go here.",
    )
