"""The command line every entry point shares: absl flags, --config (ml_collections), one-line errors, exit codes.

    python -m experiments.NAME [--config=FILE[:VARIANT]] [--config.FIELD=VALUE ...] [--workdir=DIR]

An entry point is a default config path and a workdir (`run_config`), or a function of its own flags (`main`).
Exit codes: 0 done; 1 bad input, a broken, busy or diverged run (one line on stderr, naming the cause); 130
interrupted (Ctrl-C; the same command resumes from the last checkpoint).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from absl import app, flags, logging
from ml_collections import config_flags

from experiments import distributed  # --compile_cache and the multi-host flags
from rmft_jax.training import checkpoint, runner, train_loop, workdir_lock

# What a run raises for bad input or a workdir it cannot use: each one's message says what to fix.
ERRORS = (
    ValueError,
    FileNotFoundError,
    checkpoint.CheckpointError,
    train_loop.TrainingDiverged,
    workdir_lock.WorkdirBusy,
)
EXIT_ERROR, EXIT_INTERRUPTED = 1, 130


def guarded(fn: Callable[[], Any]) -> Any:
    """fn(), with a known error turned into one line on stderr and exit code 1, and Ctrl-C into exit code 130."""
    try:
        return fn()
    except ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        print("interrupted: the same command resumes from the last checkpoint.", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)


def parse_flags(argv: list[str]) -> list[str]:
    """absl's flag parsing, with a --config override that does not fit the config as one line and exit code 1."""
    try:
        return app.parse_flags_with_usage(argv)
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        given = " ".join(a for a in argv[1:] if a.startswith("--config."))
        reason = str(err).strip().strip("\"'")
        print(
            f"error: a --config override names no field of the config or has the wrong type ({reason}); "
            f"fields are the dotted names in the config file. Overrides given: {given}",
            file=sys.stderr,
        )
        sys.exit(EXIT_ERROR)


def main(fn: Callable[[], Any]) -> None:
    """Parse the flags, set up the compile cache (and a multi-host run), then fn() under `guarded`."""

    def entry(argv: list[str]) -> None:
        if len(argv) > 1:
            raise app.UsageError(f"unexpected arguments {argv[1:]}; every option is a --flag.")
        distributed.maybe_initialize()
        logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
        guarded(fn)

    app.run(entry, flags_parser=parse_flags)


def define_config(default: str | None, help_text: str = "Config file, optionally FILE:VARIANT.") -> Any:
    """The --config flag (a Python config file with get_config(variant)); fields are overridden as --config.X=V."""
    return config_flags.DEFINE_config_file("config", default, help_text, lock_config=True)


def run_config(
    default_config: str | None,
    default_workdir: str | None,
    run: Callable[[Any, str], Any] | None = None,
    workdir_help: str = "Checkpoints, results.json and figures go here.",
) -> None:
    """The whole entry point of a config-driven command: --config and --workdir, then run(cfg, workdir).

    run defaults to the training runner, which picks the experiment from the config's `task`.
    """
    config = define_config(default_config)
    workdir = flags.DEFINE_string("workdir", default_workdir, workdir_help)
    if default_config is None:
        flags.mark_flag_as_required("config")
    if default_workdir is None:
        flags.mark_flag_as_required("workdir")
    main(lambda: (run or runner.run)(config.value, workdir.value))
