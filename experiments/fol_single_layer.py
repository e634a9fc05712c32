"""Iterative RMFT on FOL, single-layer linear attention: python -m experiments.fol_single_layer --workdir=DIR."""
import sys

from absl import app, flags, logging
from ml_collections import config_flags

from rmft_jax import fol_train
from rmft_jax.checkpoint import CheckpointError

_CONFIG = config_flags.DEFINE_config_file(
    "config", "experiments/configs/fol_single_layer.py", "Config file, optionally FILE:VARIANT.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", "runs/fol_single_layer", "Checkpoints, results.json and figures go here.")


def main(argv):
    """Train (or resume) and report; bad input or a broken checkpoint exits with a one-line message."""
    del argv
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
    try:
        fol_train.run(_CONFIG.value, _WORKDIR.value)
    except (ValueError, CheckpointError, fol_train.TrainingDiverged) as err:
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    app.run(main)
