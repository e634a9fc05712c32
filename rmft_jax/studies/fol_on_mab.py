"""Train on FOL, play on MAB (the paper's ablation): FOL-trained models play bandits with importance weights.

Each FOL workdir's model plays Bernoulli bandit instances through `fol_on_bandit.importance_weighted_rollout`
(EXP3's estimates as its input), optionally again after some iterations of RMFT on MAB that keep its
input format (`tasks.fol_on_bandit_rmft`); EXP3, UCB1 and Thompson sampling play the same reward draws
(common random numbers). Scored by `bandit_eval.method_stats` (pseudo-regret, growth, exploration diagnostics).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable

import jax

from rmft_jax import envs, regret
from rmft_jax.core import loop, sft
from rmft_jax.envs import bandit as bandit_envs
from rmft_jax.tasks import bandit_eval, fol_on_bandit, fol_on_bandit_rmft
from rmft_jax.training import policy, runner, workdir_files

# instance -> (description, its GapMAB fields): K = 5 so that a model trained at A = 5 can play it.
INSTANCES = {
    "hard": ("Krishnamurthy et al.'s hard instance: K = 5, gap 0.2", {"gap": 0.2}),
    "easy5": ("an easy instance at K = 5, gap 0.5 (their easy one has K = 4)", {"gap": 0.5}),
}


# The fine-tuning's keys: fold_in(key(seed), FINETUNE_STREAM + i) for the i-th fine-tuned model (the instances
# use 0, 1).
FINETUNE_STREAM = 100


@dataclasses.dataclass(frozen=True)
class Finetune:
    """RMFT on MAB for an FOL model: the bandit default loop (training instances gap ~ U[0.1, 0.5], K = 5)."""

    iterations: int = 30
    num_scenarios: int = 256  # M
    num_rollouts: int = 16  # L
    num_selected: int = 4  # k
    sft_steps: int = 50
    learning_rate: float = 3e-3
    gamma: float = 0.0  # uniform exploration mixed into the training rollouts


def load_players(workdirs: dict[str, str]) -> dict[str, tuple]:
    """{name: (graphdef, params, temperature)} of each FOL workdir's final model."""
    players = {}
    for name, workdir in workdirs.items():
        if not os.path.exists(os.path.join(workdir, "config.json")):
            raise ValueError(f"FOL workdir {workdir!r} ({name}) has no config.json: train it first.")
        cfg = runner.load_config(workdir)
        if int(cfg.env.num_actions) != 5:
            raise ValueError(
                f"FOL workdir {workdir!r} ({name}) was trained at A = {cfg.env.num_actions}; the "
                "instances have K = 5 arms."
            )
        graphdef, params = policy.load_checkpoint_params(workdir, cfg)
        players[name] = (graphdef, params, float(cfg.rmft.temperature))
    return players


def play(player: tuple, means_NxTxA, rewards_NxTxA, key, gamma: float) -> dict:
    """One model's importance-weighted play on pre-drawn instances: `bandit_eval.method_stats`."""
    graphdef, params, temperature = player
    run = jax.jit(lambda r, k: fol_on_bandit.importance_weighted_rollout(graphdef, params, r, k, temperature, gamma))
    traj = run(rewards_NxTxA, key)
    curves = regret.pseudo_regret(means_NxTxA, traj.actions_BxT)
    return bandit_eval.method_stats(curves, traj.actions_BxT, traj.rewards_BxT, means_NxTxA, "mab")


def finetune(
    player: tuple, horizon: int, settings: Finetune, key: jax.Array, log: Callable[[str], None] = print
) -> tuple[tuple, dict]:
    """Iterative RMFT on MAB from an FOL model (`tasks.fol_on_bandit_rmft`) -> (the fine-tuned player, history)."""
    graphdef, params, temperature = player
    env = bandit_envs.GapMAB(num_actions=5, horizon=horizon, gap_range=(0.1, 0.5), random_best_arm=True).validate()
    task = fol_on_bandit_rmft.FOLOnBanditTask(
        env, graphdef, settings.num_scenarios, settings.num_rollouts, temperature, settings.gamma
    )
    optimizer = sft.make_optimizer(settings.learning_rate)
    loop_settings = loop.LoopSettings("regret", settings.num_selected, settings.sft_steps, temperature)
    iteration = jax.jit(
        loop.make_iteration(
            task, sft.make_update(task.apply, optimizer, settings.sft_steps, temperature), loop_settings
        )
    )
    opt_state, history, start = optimizer.init(params), [], time.perf_counter()
    for it in range(settings.iterations):
        params, opt_state, metrics = iteration(params, opt_state, jax.random.fold_in(key, it))
        if not bool(metrics["finite"]):
            raise FloatingPointError(f"RMFT on MAB produced a non-finite value at iteration {it + 1}.")
        history.append(
            {
                "iteration": it + 1,
                "rollout_regret": float(metrics["rollout_regret"]),
                "selected_regret": float(metrics["selected_regret"]),
                "sft_loss": float(metrics["sft_loss"]),
            }
        )
        if (it + 1) % 10 == 0 or it + 1 == settings.iterations:
            log(
                f"  RMFT on MAB iter {it + 1}/{settings.iterations}: rollout regret {history[-1]['rollout_regret']:.2f}"
            )
    return (graphdef, params, temperature), {
        "history": history,
        "seconds": time.perf_counter() - start,
        "settings": dataclasses.asdict(settings),
    }


def run(
    workdirs: dict[str, str],
    horizon: int,
    num_runs: int,
    gammas: tuple,
    baselines: tuple,
    seed: int,
    log: Callable[[str], None] = print,
    finetune_names: tuple = (),
    settings: Finetune = Finetune(),
) -> dict:
    """{"results": {instance: {method: stats}}, "finetune": {name: history}} for every FOL workdir (x gamma),
    the ones in `finetune_names` again after RMFT on MAB ("NAME + RMFT on MAB"), and each baseline."""
    players = load_players(workdirs)
    unknown = sorted(set(finetune_names) - set(players))
    if unknown:
        raise ValueError(f"--finetune names {unknown} are not among the workdirs {sorted(players)}.")
    tuned = {}
    for i, name in enumerate(finetune_names):
        log(f"{name}: RMFT on MAB for {settings.iterations} iterations")
        player, tuned[name] = finetune(
            players[name], horizon, settings, jax.random.fold_in(jax.random.key(seed), FINETUNE_STREAM + i), log
        )
        players[f"{name} + RMFT on MAB"] = player
    out = {}
    for index, (instance, (description, fields)) in enumerate(INSTANCES.items()):
        env = bandit_envs.GapMAB(num_actions=5, horizon=horizon, random_best_arm=True, **fields).validate()
        key_env, key_play, key_base = jax.random.split(jax.random.fold_in(jax.random.key(seed), index), 3)
        scen = envs.sample_batch(env, key_env, num_runs)
        means_NxTxA, rewards_NxTxA = scen.means_TxA, scen.rewards_TxA
        out[instance] = {"description": description}
        for name, player in players.items():
            for gamma in gammas:
                label = f"{name} (gamma {gamma:g})"
                out[instance][label] = play(player, means_NxTxA, rewards_NxTxA, key_play, float(gamma))
                log(f"{instance}: {label}: regret {out[instance][label]['regret']:.2f}")
        for name, (actions, observed, curves) in bandit_eval.run_baselines(
            baselines, key_base, means_NxTxA, rewards_NxTxA
        ).items():
            out[instance][name] = bandit_eval.method_stats(curves, actions, observed, means_NxTxA, "mab")
            log(f"{instance}: {name}: regret {out[instance][name]['regret']:.2f}")
    return {"results": out, "finetune": tuned}


def run_command(
    out_dir: str,
    workdirs: list[str],
    horizon: int,
    num_runs: int,
    gammas: list[str],
    seed: int,
    finetune: list[str],
    finetune_iterations: int,
    finetune_gamma: float,
    log: Callable[[str], None] = print,
) -> dict:
    """`python -m experiments.fol_on_mab`: check the flags' values, play (and fine-tune), write fol_on_mab.json."""
    named = dict(item.split("=", 1) for item in workdirs)
    if finetune_iterations < 0:
        raise ValueError(f"--finetune_iterations must be >= 0, got {finetune_iterations}.")
    if not 0.0 <= finetune_gamma < 1.0:
        raise ValueError(f"--finetune_gamma must be in [0, 1), got {finetune_gamma}.")
    out = run(
        named,
        horizon,
        num_runs,
        tuple(float(g) for g in gammas),
        ("exp3", "ucb1", "thompson"),
        seed,
        finetune_names=tuple(finetune) if finetune_iterations else (),
        settings=Finetune(iterations=finetune_iterations, gamma=finetune_gamma),
    )
    os.makedirs(out_dir, exist_ok=True)
    workdir_files.write_json_atomic(
        os.path.join(out_dir, "fol_on_mab.json"), {"workdirs": named, "horizon": horizon, "num_runs": num_runs, **out}
    )
    log(f"wrote {out_dir}/fol_on_mab.json")
    return out
