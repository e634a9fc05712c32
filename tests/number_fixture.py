"""The numbers of every experiment's smoke run, recorded once so that a refactor is held to them.

    python -m tests.number_fixture --record            # writes tests/fixtures/numbers_smoke.json
    python -m tests.number_fixture --record --headline # also the headline run (tests/fixtures/numbers_headline.json)
    python -m tests.number_fixture --check             # re-runs and reports every number that moved

Each run goes through its command line (python -m ...), the interface every refactor keeps. The output JSON is kept
whole except timings, paths and the config (a results file's config may gain fields; its numbers may not change).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import math
import os
import subprocess
import sys
import tempfile
import time

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
SMOKE_PATH = os.path.join(FIXTURES, "numbers_smoke.json")
HEADLINE_PATH = os.path.join(FIXTURES, "numbers_headline.json")

# name -> (command after `python -m`, the output file, in the run's workdir unless a path). "{w}" is the run's own
# workdir, "{w:NAME}" the workdir of an earlier run (the attack and the bandit play read a trained FOL workdir).
SMOKE_RUNS: dict[str, tuple[list[str], str]] = {
    "fol_single_layer": (
        ["experiments.fol_single_layer", "--config=experiments/configs/fol_single_layer.py:smoke", "--workdir={w}"],
        "results.json",
    ),
    "fol_adversarial": (
        [
            "experiments.fol_single_layer",
            "--config=experiments/configs/fol_single_layer.py:adversarial_smoke",
            "--workdir={w}",
        ],
        "results.json",
    ),
    "fol_multi_layer": (
        ["experiments.fol_multi_layer", "--config=experiments/configs/fol_multi_layer.py:smoke", "--workdir={w}"],
        "results.json",
    ),
    "mab": (["experiments.mab", "--config=experiments/configs/mab.py:smoke", "--workdir={w}"], "results.json"),
    "nsmab": (["experiments.nsmab", "--config=experiments/configs/nsmab.py:smoke", "--workdir={w}"], "results.json"),
    "attack": (
        ["experiments.attack", "--config=experiments/configs/attack.py:smoke", "--workdir={w:fol_single_layer}"],
        "{w:fol_single_layer}/attack.json",
    ),
    "fol_on_mab": (
        [
            "experiments.fol_on_mab",
            "--workdirs=smoke={w:fol_single_layer}",
            "--out={w}",
            "--horizon=20",
            "--num_runs=64",
            "--gammas=0",
            "--finetune=smoke",
            "--finetune_iterations=2",
        ],
        "fol_on_mab.json",
    ),
    "baselines": (
        ["experiments.baselines", "--config=experiments/configs/baselines.py:smoke", "--workdir={w}"],
        "results.json",
    ),
    "ablations": (
        ["experiments.ablations", "--config=experiments/configs/ablations.py:smoke", "--workdir={w}"],
        "results.json",
    ),
    "tradeoff": (
        ["experiments.tradeoff", "--config=experiments/configs/tradeoff.py:smoke", "--workdir={w}"],
        "tradeoff.json",
    ),
    "paradigms": (
        ["experiments.paradigms", "--config=experiments/configs/paradigms.py:smoke", "--workdir={w}"],
        "paradigms.json",
    ),
    "fixed_point": (
        ["theory.fixed_point", "--config=theory/configs/fixed_point.py:smoke", "--workdir={w}"],
        "fixed_point.json",
    ),
}
HEADLINE_RUNS = {
    "headline": (["experiments.fol_single_layer", "--workdir={w}"], "results.json"),
}


def strip(tree):
    """The tree without timings, paths and configs: what must regenerate identically."""
    if isinstance(tree, dict):
        return {k: strip(v) for k, v in tree.items() if not _ignored(k)}
    if isinstance(tree, list):
        return [strip(v) for v in tree]
    return tree


# Provenance: which checkpoint and config segments a file describes (checked by tests/test_run_failures.py).
PROVENANCE = ("checkpoint_step", "final_checkpoint", "config_history", "figures")


def _ignored(key: str) -> bool:
    """Keys that hold timings, paths, the config or provenance."""
    return key in ("config", "workdir", "workdirs", *PROVENANCE) or "seconds" in key or "wall time" in key


def _depends_on(runs: dict, name: str) -> list[str]:
    """The earlier runs whose workdirs `name` reads ("{w:OTHER}" in its command)."""
    return [other for other in runs if any(f"{{w:{other}}}" in a for a in runs[name][0])]


def run_one(runs: dict, root: str, name: str) -> str:
    """Run `name` in root/NAME (its dependencies' workdirs must be there) -> the path of its output JSON."""
    args, filename = runs[name]
    workdir = os.path.join(root, name)
    argv = [
        a.replace("{w}", workdir)
        for a in (*args, filename if filename.startswith("{") else os.path.join(workdir, filename))
    ]
    for other in runs:
        argv = [a.replace(f"{{w:{other}}}", os.path.join(root, other)) for a in argv]
    *argv, output = argv
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", *argv],
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    if proc.returncode:
        raise RuntimeError(f"{name}: exit {proc.returncode}\n{proc.stderr[-3000:]}")
    print(f"{name}: {time.perf_counter() - start:.1f}s", flush=True)
    return output


def run_all(runs: dict, root: str, only: tuple[str, ...] = ()) -> dict:
    """Run each command (and those it reads from) in root/NAME -> {name: stripped output}."""
    out = {}
    for name in runs:
        if only and name not in only and not any(name in _depends_on(runs, o) for o in only):
            continue
        with open(run_one(runs, root, name)) as f:
            out[name] = strip(json.load(f))
    return out


def run_shared(runs: dict, root: str, name: str) -> str:
    """Run `name` once in a root that several processes share (the test workers) -> its output JSON's path.

    A lock per run: the first caller runs it (after its dependencies), later callers wait and reuse the output. A
    run that reads another's workdir holds that one's lock while it runs, so no two runs use a workdir at once.
    """
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, f"{name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = os.path.join(root, f"{name}.output")
        if os.path.exists(done):
            with open(done) as fh:
                return fh.read()
        held = []
        try:
            for other in _depends_on(runs, name):
                run_shared(runs, root, other)
                held.append(open(os.path.join(root, f"{other}.lock"), "w"))
                fcntl.flock(held[-1], fcntl.LOCK_EX)
            output = run_one(runs, root, name)
        finally:
            for fh in held:
                fh.close()
        with open(done, "w") as fh:
            fh.write(output)
        return output


def differences(expected, actual, path: str = "", rtol: float = 0.0) -> list[str]:
    """Every leaf where actual differs from expected (relative tolerance rtol on floats), as 'path: a != b'."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        diffs = [f"{path}.{k}: missing" for k in expected if k not in actual]
        diffs += [f"{path}.{k}: new key" for k in actual if k not in expected]
        for k in expected:
            if k in actual:
                diffs += differences(expected[k], actual[k], f"{path}.{k}", rtol)
        return diffs
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: length {len(expected)} != {len(actual)}"]
        return [
            d
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for d in differences(e, a, f"{path}[{i}]", rtol)
        ]
    if isinstance(expected, float) and isinstance(actual, (float, int)):
        same = (math.isnan(expected) and math.isnan(actual)) or math.isclose(
            expected, actual, rel_tol=rtol, abs_tol=rtol * 1e-3
        )
        return [] if same else [f"{path}: {expected!r} != {actual!r}"]
    return [] if expected == actual else [f"{path}: {expected!r} != {actual!r}"]


def load(path: str) -> dict:
    """A fixture file, stripped again (the stripping rule may have grown since it was written)."""
    with open(path) as f:
        return strip(json.load(f))


def main() -> None:
    """Record or check the fixture."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help="write the fixture files")
    parser.add_argument("--check", action="store_true", help="compare bit for bit with the fixture files")
    parser.add_argument("--headline", action="store_true", help="include the headline run (slow)")
    parser.add_argument("--only", nargs="*", default=(), help="names of runs to do")
    args = parser.parse_args()
    targets = [(SMOKE_RUNS, SMOKE_PATH)] + ([(HEADLINE_RUNS, HEADLINE_PATH)] if args.headline else [])
    for runs, path in targets:
        only = tuple(n for n in args.only if n in runs)
        if args.only and not only:
            continue
        with tempfile.TemporaryDirectory() as root:
            numbers = run_all(runs, root, only)
        if args.record:
            os.makedirs(FIXTURES, exist_ok=True)
            stored = json.load(open(path)) if os.path.exists(path) else {}
            stored.update(numbers)
            with open(path, "w") as f:
                json.dump(stored, f, indent=1, sort_keys=True)
            print(f"wrote {sorted(numbers)} to {path}")
        if args.check:
            expected = load(path)
            for name, got in numbers.items():
                diffs = differences(expected[name], got)
                print(f"{name}: {'identical' if not diffs else f'{len(diffs)} differences'}")
                for d in diffs[:20]:
                    print("   ", d)


if __name__ == "__main__":
    main()
