"""Classical baselines on FOL, MAB and NS-MAB: python -m experiments.baselines --config=... --workdir=DIR."""

from absl import app, flags, logging
from ml_collections import config_flags

from experiments import distributed  # --compile_cache and multi-host flags
from rmft_jax.studies import baseline_suite

_CONFIG = config_flags.DEFINE_config_file(
    "config", "experiments/configs/baselines.py", "Config file, optionally FILE:VARIANT.", lock_config=True
)
_WORKDIR = flags.DEFINE_string("workdir", "runs/baselines", "Where results.json and the figure go.")


def main(argv):
    """Run the study and print where the outputs are."""
    del argv
    distributed.maybe_initialize()
    logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
    baseline_suite.run(_CONFIG.value, _WORKDIR.value)
    print(f"wrote {_WORKDIR.value}/results.json and {_WORKDIR.value}/regret_curves.png")


if __name__ == "__main__":
    app.run(main)
