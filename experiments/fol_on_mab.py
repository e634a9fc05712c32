"""Train on FOL, play on MAB: python -m experiments.fol_on_mab --workdirs=headline=runs/fol_single_layer --out=DIR."""
import os
import sys

from absl import app, flags, logging

from experiments import distributed  # --compile_cache flag
from rmft_jax.studies import fol_on_mab
from rmft_jax.training import workdir_files

_WORKDIRS = flags.DEFINE_list("workdirs", ["headline=runs/fol_single_layer", "adversarial=runs/fol_adversarial"],
                              "NAME=FOL_WORKDIR pairs: the FOL-trained models to play.")
_OUT = flags.DEFINE_string("out", "runs/fol_on_mab", "fol_on_mab.json goes here.")
_HORIZON = flags.DEFINE_integer("horizon", 100, "Rounds per bandit run.")
_RUNS = flags.DEFINE_integer("num_runs", 2000, "Runs (instances with their reward draws) per bandit instance.")
_GAMMAS = flags.DEFINE_list("gammas", ["0", "0.1"], "Uniform exploration mixed into the model's policy (EXP3's gamma).")
_SEED = flags.DEFINE_integer("seed", 0, "Key of the instances and the play.")


def main(argv):
    """Entry point: flags -> play -> fol_on_mab.json."""
    del argv
    distributed.maybe_initialize()
    logging.set_verbosity(logging.WARNING)  # orbax logs every restore at INFO
    try:
        workdirs = dict(item.split("=", 1) for item in _WORKDIRS.value)
        gammas = tuple(float(g) for g in _GAMMAS.value)
        out = fol_on_mab.run(workdirs, _HORIZON.value, _RUNS.value, gammas, ("exp3", "ucb1", "thompson"), _SEED.value)
    except ValueError as err:
        sys.exit(f"error: {err}")
    os.makedirs(_OUT.value, exist_ok=True)
    workdir_files.write_json_atomic(os.path.join(_OUT.value, "fol_on_mab.json"),
                                    {"workdirs": workdirs, "horizon": _HORIZON.value, "num_runs": _RUNS.value,
                                     "results": out})
    print(f"wrote {_OUT.value}/fol_on_mab.json")


if __name__ == "__main__":
    app.run(main)
