"""Is the fixed point of Iterative RMFT FTRL? Writes fixed_point.json and figures into --workdir.

python -m theory.fixed_point --config=theory/configs/fixed_point.py --workdir=DIR
"""

from absl import app, flags
from ml_collections import config_flags

from theory import study

_CONFIG = config_flags.DEFINE_config_file(
    "config", "theory/configs/fixed_point.py", "Config file, optionally FILE:VARIANT.", lock_config=True
)
_WORKDIR = flags.DEFINE_string("workdir", "runs/theory_fixed_point", "fixed_point.json and figures go here.")


def main(argv):
    """Entry point: flags -> measure."""
    del argv
    study.cli_run(_CONFIG.value, _WORKDIR.value)


if __name__ == "__main__":
    app.run(main)
