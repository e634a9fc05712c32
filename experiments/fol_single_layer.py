"""Iterative RMFT on FOL, single-layer linear attention (the headline): python -m experiments.fol_single_layer."""

from experiments import cli

if __name__ == "__main__":
    cli.run_config("experiments/configs/fol_single_layer.py", "runs/fol_single_layer")
