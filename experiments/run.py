"""Any task's training run, picked by the config's task: python -m experiments.run --config=FILE --workdir=DIR."""

from experiments import cli

if __name__ == "__main__":
    cli.run_config(None, None)
