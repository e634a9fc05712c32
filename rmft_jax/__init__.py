"""rmft_jax: Iterative Regret-Minimization Fine-Tuning for numerical transformers in JAX/Flax."""
from rmft_jax import baselines, envs, metrics, models, regret
from rmft_jax.training.policy import load_policy

__all__ = ["baselines", "envs", "load_policy", "metrics", "models", "regret"]
__version__ = "0.1.0"
