"""Iterative RMFT on MAB: python -m experiments.mab --workdir=DIR [--config=experiments/configs/mab.py:VARIANT]."""

from absl import app, flags
from ml_collections import config_flags

from experiments import distributed  # --compile_cache and multi-host flags
from rmft_jax.training import bandit_train

_CONFIG = config_flags.DEFINE_config_file(
    "config", "experiments/configs/mab.py", "Config file, optionally FILE:VARIANT.", lock_config=True
)
_WORKDIR = flags.DEFINE_string("workdir", "runs/mab", "Checkpoints, results.json and figures go here.")


def main(argv):
    """Entry point: flags -> train."""
    del argv
    distributed.maybe_initialize()
    bandit_train.cli_run(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
    app.run(main)
