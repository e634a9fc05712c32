"""Train on FOL, play on MAB: python -m experiments.fol_on_mab --workdirs=headline=runs/fol_single_layer --out=DIR.

--finetune=NAME,... also plays those models after --finetune_iterations of RMFT on MAB (0 or no names: skip).
"""

from absl import flags

from experiments import cli
from rmft_jax.studies import fol_on_mab

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


if __name__ == "__main__":
    cli.main(
        lambda: fol_on_mab.run_command(
            _OUT.value,
            _WORKDIRS.value,
            _HORIZON.value,
            _RUNS.value,
            _GAMMAS.value,
            _SEED.value,
            _FINETUNE.value,
            _FINETUNE_ITERATIONS.value,
            _FINETUNE_GAMMA.value,
        )
    )
