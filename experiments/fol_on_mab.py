"""Train on FOL, play on MAB: python -m experiments.fol_on_mab --workdirs=headline=runs/fol_single_layer --out=DIR.

--finetune=NAME,... also plays those models after --finetune_iterations of RMFT on MAB (0 or no names: skip).
"""

import os
import sys

from absl import app, flags, logging

from experiments import distributed  # --compile_cache flag
from rmft_jax.studies import fol_on_mab
from rmft_jax.training import workdir_files

_WORKDIRS = flags.DEFINE_list(
    "workdirs",
    ["headline=runs/fol_single_layer", "adversarial=runs/fol_adversarial"],
    "NAME=FOL_WORKDIR pairs: the FOL-trained models to play.",
)
_OUT = flags.DEFINE_string("out", "runs/fol_on_mab", "fol_on_mab.json goes here.")
_HORIZON = flags.DEFINE_integer("horizon", 100, "Rounds per bandit run.")
_RUNS = flags.DEFINE_integer("num_runs", 2000, "Runs (instances with their reward draws) per bandit instance.")
_GAMMAS = flags.DEFINE_list("gammas", ["0", "0.1"], "Uniform exploration mixed into the model's policy (EXP3's gamma).")
_SEED = flags.DEFINE_integer("seed", 0, "Key of the instances, the play and the fine-tuning.")
_FINETUNE = flags.DEFINE_list("finetune", ["headline"], "Workdir names to fine-tune with RMFT on MAB, then play again.")
_FINETUNE_ITERATIONS = flags.DEFINE_integer("finetune_iterations", 30, "RMFT-on-MAB iterations (0 = no fine-tuning).")
_FINETUNE_GAMMA = flags.DEFINE_float("finetune_gamma", 0.0, "Uniform exploration mixed into the fine-tuning rollouts.")


def main(argv):
    """Entry point: flags -> play -> fol_on_mab.json."""
    del argv
    distributed.maybe_initialize()
    logging.set_verbosity(logging.WARNING)  # orbax logs every restore at INFO
    try:
        workdirs = dict(item.split("=", 1) for item in _WORKDIRS.value)
        gammas = tuple(float(g) for g in _GAMMAS.value)
        if _FINETUNE_ITERATIONS.value < 0:
            raise ValueError(f"--finetune_iterations must be >= 0, got {_FINETUNE_ITERATIONS.value}.")
        names = tuple(_FINETUNE.value) if _FINETUNE_ITERATIONS.value else ()
        if not 0.0 <= _FINETUNE_GAMMA.value < 1.0:
            raise ValueError(f"--finetune_gamma must be in [0, 1), got {_FINETUNE_GAMMA.value}.")
        settings = fol_on_mab.Finetune(iterations=_FINETUNE_ITERATIONS.value, gamma=_FINETUNE_GAMMA.value)
        out = fol_on_mab.run(
            workdirs,
            _HORIZON.value,
            _RUNS.value,
            gammas,
            ("exp3", "ucb1", "thompson"),
            _SEED.value,
            finetune_names=names,
            settings=settings,
        )
    except ValueError as err:
        sys.exit(f"error: {err}")
    os.makedirs(_OUT.value, exist_ok=True)
    workdir_files.write_json_atomic(
        os.path.join(_OUT.value, "fol_on_mab.json"),
        {"workdirs": workdirs, "horizon": _HORIZON.value, "num_runs": _RUNS.value, **out},
    )
    print(f"wrote {_OUT.value}/fol_on_mab.json")


if __name__ == "__main__":
    app.run(main)
