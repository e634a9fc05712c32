"""Train on FOL, play on MAB (the paper's ablation): FOL-trained models play bandits with importance weights.

Each FOL workdir's model plays Bernoulli bandit instances through `fol_on_bandit.importance_weighted_rollout`
(EXP3's estimates as its input); EXP3, UCB1 and Thompson sampling play the same reward draws (common random
numbers). Scored by `bandit_eval.method_stats` (pseudo-regret, growth, exploration diagnostics).
"""
from __future__ import annotations

import os
from typing import Any, Callable

import jax

from rmft_jax import envs, regret
from rmft_jax.envs import bandit as bandit_envs
from rmft_jax.tasks import bandit_eval, fol_on_bandit
from rmft_jax.training import policy, workdir_files

# instance -> (description, its GapMAB fields): K = 5 so that a model trained at A = 5 can play it.
INSTANCES = {"hard": ("Krishnamurthy et al.'s hard instance: K = 5, gap 0.2", {"gap": 0.2}),
             "easy5": ("an easy instance at K = 5, gap 0.5 (their easy one has K = 4)", {"gap": 0.5})}


def play_workdir(workdir: str, means_NxTxA, rewards_NxTxA, key, gamma: float) -> dict:
    """One FOL workdir's model on the instances: method_stats of its importance-weighted play."""
    cfg = workdir_files.load_config(workdir)
    graphdef, params = policy.load_checkpoint_params(workdir, cfg)
    run = jax.jit(lambda r, k: fol_on_bandit.importance_weighted_rollout(
        graphdef, params, r, k, float(cfg.rmft.temperature), gamma))
    traj = run(rewards_NxTxA, key)
    curves = regret.pseudo_regret(means_NxTxA, traj.actions_BxT)
    return bandit_eval.method_stats(curves, traj.actions_BxT, traj.rewards_BxT, means_NxTxA, "mab")


def run(workdirs: dict[str, str], horizon: int, num_runs: int, gammas: tuple, baselines: tuple, seed: int,
        log: Callable[[str], None] = print) -> dict:
    """{instance: {method: stats}} for every FOL workdir (x gamma) and baseline."""
    for name, workdir in workdirs.items():
        if not os.path.exists(os.path.join(workdir, "config.json")):
            raise ValueError(f"FOL workdir {workdir!r} ({name}) has no config.json: train it first.")
    out = {}
    for index, (instance, (description, fields)) in enumerate(INSTANCES.items()):
        env = bandit_envs.GapMAB(num_actions=5, horizon=horizon, random_best_arm=True, **fields).validate()
        key_env, key_play, key_base = jax.random.split(jax.random.fold_in(jax.random.key(seed), index), 3)
        scen = envs.sample_batch(env, key_env, num_runs)
        means_NxTxA, rewards_NxTxA = scen.means_TxA, scen.rewards_TxA
        out[instance] = {"description": description}
        for name, workdir in workdirs.items():
            for gamma in gammas:
                label = f"{name} (gamma {gamma:g})"
                out[instance][label] = play_workdir(workdir, means_NxTxA, rewards_NxTxA, key_play, float(gamma))
                log(f"{instance}: {label}: regret {out[instance][label]['regret']:.2f}")
        for name, (actions, observed, curves) in bandit_eval.run_baselines(baselines, key_base, means_NxTxA,
                                                                           rewards_NxTxA).items():
            out[instance][name] = bandit_eval.method_stats(curves, actions, observed, means_NxTxA, "mab")
            log(f"{instance}: {name}: regret {out[instance][name]['regret']:.2f}")
    return out
