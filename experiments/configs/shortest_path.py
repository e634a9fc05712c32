"""The example task of docs/extending.md (online shortest path): python -m experiments.run --config=THIS."""

from rmft_jax.tasks import shortest_path


def get_config(variant: str = ""):
    """The task's own default config (it lives in the task file, with the task)."""
    if variant:
        raise ValueError(f"unknown variant {variant!r}; the shortest-path example has only the default.")
    return shortest_path.get_config()
