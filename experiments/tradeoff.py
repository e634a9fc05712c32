"""Adversarial share vs on-distribution and worst-case regret: python -m experiments.tradeoff --workdir=DIR."""

import sys

from absl import app, flags, logging
from ml_collections import config_flags

from experiments import distributed  # --compile_cache and multi-host flags
from rmft_jax.studies import tradeoff_study

_CONFIG = config_flags.DEFINE_config_file(
    "config", "experiments/configs/tradeoff.py", "Config file, optionally FILE:VARIANT.", lock_config=True
)
_WORKDIR = flags.DEFINE_string("workdir", "runs/tradeoff", "tradeoff.json and tradeoff.png go here.")


def main(argv):
    """Entry point: flags -> every arm -> tradeoff.json, tradeoff.png."""
    del argv
    distributed.maybe_initialize()
    logging.set_verbosity(logging.WARNING)
    try:
        tradeoff_study.run(_CONFIG.value, _WORKDIR.value)
    except ValueError as err:
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    app.run(main)
