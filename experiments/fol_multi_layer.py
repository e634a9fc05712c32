"""Iterative RMFT on FOL with a multi-layer softmax transformer: python -m experiments.fol_multi_layer."""

from experiments import cli

if __name__ == "__main__":
    cli.run_config("experiments/configs/fol_multi_layer.py", "runs/fol_multi_layer")
