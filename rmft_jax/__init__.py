"""rmft_jax: Iterative Regret-Minimization Fine-Tuning for numerical transformers in JAX/Flax."""
from rmft_jax import baselines, envs, metrics, regret

__all__ = ["baselines", "envs", "metrics", "regret"]
__version__ = "0.1.0"
