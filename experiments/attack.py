"""Worst found regret of an FOL workdir's model and the baselines: python -m experiments.attack --workdir=DIR."""

import sys

from absl import app, flags
from ml_collections import config_flags

from experiments import distributed  # --compile_cache and multi-host flags
from rmft_jax.studies import attack_study
from rmft_jax.training import checkpoint

_CONFIG = config_flags.DEFINE_config_file(
    "config",
    "experiments/configs/attack.py",
    "Attack config (budget, horizons), optionally FILE:VARIANT.",
    lock_config=True,
)
_WORKDIR = flags.DEFINE_string("workdir", None, "A trained FOL workdir; attack.json and worst_case.png go here.")


def main(argv):
    """Entry point: flags -> attack study; bad input exits with one line."""
    del argv
    distributed.maybe_initialize()
    try:
        attack_study.run(_WORKDIR.value, _CONFIG.value)
    except (ValueError, FileNotFoundError, checkpoint.CheckpointError) as err:
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    flags.mark_flag_as_required("workdir")
    app.run(main)
