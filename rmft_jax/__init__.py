"""rmft_jax: Iterative Regret-Minimization Fine-Tuning for numerical transformers in JAX/Flax."""

from rmft_jax import baselines, envs, metrics, models, regret

__all__ = ["baselines", "envs", "load_policy", "metrics", "models", "regret"]
__version__ = "0.1.0"


def __getattr__(name: str):
    """`rmft_jax.load_policy` on first use: loading a policy needs orbax, which plain imports should not pay for."""
    if name == "load_policy":
        from rmft_jax.training.policy import load_policy

        return load_policy
    raise AttributeError(f"module 'rmft_jax' has no attribute {name!r}")
