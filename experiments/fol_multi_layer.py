"""Iterative RMFT on FOL, multi-layer transformer: python -m experiments.fol_multi_layer --workdir=DIR."""

from absl import app, flags
from ml_collections import config_flags

from experiments import distributed
from rmft_jax.training import fol_train

_CONFIG = config_flags.DEFINE_config_file(
    "config", "experiments/configs/fol_multi_layer.py", "Config file, optionally FILE:VARIANT.", lock_config=True
)
_WORKDIR = flags.DEFINE_string("workdir", "runs/fol_multi_layer", "Checkpoints, results.json and figures go here.")


def main(argv):
    """Train (or resume) and report, like fol_single_layer."""
    del argv
    distributed.maybe_initialize()
    fol_train.cli_run(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
    app.run(main)
