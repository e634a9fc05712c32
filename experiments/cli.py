"""The command line every entry point shares: absl flags, --config (ml_collections), one-line errors, exit codes.

    python -m experiments.NAME [--config=FILE[:VARIANT]] [--config.FIELD=VALUE ...] [--workdir=DIR]

An entry point is a default config path and a workdir (`run_config`), or a function of its own flags (`main`).
Exit codes: 0 done; 1 bad input, a broken, busy or diverged run, a file that cannot be written (disk full, a
read-only directory) or out of memory (one line on stderr, naming the cause); 130 interrupted (Ctrl-C; the same
command resumes from the last checkpoint). An unexpected error keeps its traceback and exits 1. A failed process
exits at once: background threads (orbax's savers) never keep it alive.
"""

from __future__ import annotations

import difflib
import errno
import importlib.util
import logging as pylogging
import os
import sys
import traceback
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
    checkpoint.CheckpointSaveError,
    train_loop.TrainingDiverged,
    workdir_lock.WorkdirBusy,
)
EXIT_ERROR, EXIT_INTERRUPTED = 1, 130


class QuietOrbax:
    """A logging filter that drops orbax's error records (each with a traceback from a background thread).

    Every orbax failure that matters reaches the run as an exception (a save, the per-iteration check, a restore),
    which `rmft_jax.training.checkpoint` turns into the one line this command prints.
    """

    def filter(self, record) -> bool:
        return not (record.levelno >= pylogging.ERROR and f"{os.sep}orbax{os.sep}" in record.pathname)


def drop_closed_loop_errors(unraisable) -> None:
    """sys.unraisablehook: drop "Event loop is closed" from orbax's storage threads, which a checkpointer closed after
    a failed save leaves calling into its loop (each a bare traceback before the run's one line); else the default."""
    err = unraisable.exc_value
    if isinstance(err, RuntimeError) and str(err) == "Event loop is closed":
        return
    sys.__unraisablehook__(unraisable)


def exit_now(code: int, line: str | None = None) -> None:
    """Print `line` on stderr and end the process with `code` at once.

    os._exit, not sys.exit: after a failed checkpoint save orbax's non-daemon threads wait forever, and the
    interpreter's shutdown would print "Event loop is closed" lines. Pending good saves were finished before the
    error reached here (the driver closes its checkpointer on the way out).
    """
    if line:
        print(line, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def os_error_line(err: OSError) -> str:
    """One line for a file the run cannot read or write."""
    where = f" ({err.filename})" if err.filename else ""
    if err.errno == errno.ENOSPC:
        return f"error: no space left on device{where}; free space, then rerun the same command to resume."
    return f"error: {err.strerror or err}{where}; check that the workdir is a writable directory."


def guarded(fn: Callable[[], Any]) -> Any:
    """fn(), with a known error turned into one line on stderr and exit code 1, and Ctrl-C into exit code 130."""
    try:
        return fn()
    except ERRORS as err:
        exit_now(EXIT_ERROR, f"error: {err}")
    except OSError as err:
        exit_now(EXIT_ERROR, os_error_line(err))
    except KeyboardInterrupt:
        exit_now(EXIT_INTERRUPTED, "interrupted: the same command resumes from the last checkpoint.")
    except Exception as err:
        if "RESOURCE_EXHAUSTED" in str(err) or isinstance(err, MemoryError):
            exit_now(EXIT_ERROR, f"error: out of memory ({type(err).__name__}); lower the sizes of the config.")
        traceback.print_exc()  # an unexpected error keeps its traceback; then exit without waiting on threads
        exit_now(EXIT_ERROR)


def parse_flags(argv: list[str]) -> list[str]:
    """absl's flag parsing, with a --config override that does not fit the config as one line and exit code 1."""
    try:
        return app.parse_flags_with_usage(argv)
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        bad_override(err, argv)


def bad_override(err: Exception, argv: list[str]) -> None:
    """One line for an override that names no field or has the wrong type, with the nearest valid names; exit 1."""
    given = [a for a in argv[1:] if a.startswith("--config.")]
    reason = " ".join(str(err).replace("\\n", " ").replace("\\", "").replace("'", "").split()).strip('"')
    exit_now(
        EXIT_ERROR,
        f"error: a --config override names no field of the config or has the wrong type ({reason}); "
        f"fields are the dotted names in the config file. Overrides given: {' '.join(given)}"
        f"{nearest_fields(given, argv)}",
    )


def nearest_fields(overrides: list[str], argv: list[str]) -> str:
    """'; nearest valid names: ...' for overrides that name no field of the --config file (or '')."""
    spec = next((a.split("=", 1)[1] for a in argv[1:] if a.startswith("--config=")), _DEFAULT_CONFIG[0])
    try:
        path, _, variant = spec.partition(":")
        module_spec = importlib.util.spec_from_file_location("_config_for_hints", path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        fields = _dotted(module.get_config(variant).to_dict())
    except Exception:  # the config file itself does not load: nothing to suggest
        return ""
    hints = []
    for override in overrides:
        name = override.removeprefix("--config.").split("=", 1)[0]
        if name not in fields:
            close = difflib.get_close_matches(name, fields, n=3, cutoff=0.5)
            hints.append(f"{name} -> {', '.join(close) if close else 'none close'}")
    return f"; nearest valid names: {'; '.join(hints)}" if hints else ""


def _dotted(tree: dict, prefix: str = "") -> list[str]:
    """The dotted names of a nested dict's leaves."""
    out = []
    for key, value in tree.items():
        out += _dotted(value, f"{prefix}{key}.") if isinstance(value, dict) else [f"{prefix}{key}"]
    return out


def main(fn: Callable[[], Any]) -> None:
    """Parse the flags, set up the compile cache (and a multi-host run), then fn() under `guarded`."""

    def entry(argv: list[str]) -> None:
        if len(argv) > 1:
            raise app.UsageError(f"unexpected arguments {argv[1:]}; every option is a --flag.")
        distributed.maybe_initialize()
        logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
        logging.get_absl_logger().addFilter(QuietOrbax())
        sys.unraisablehook = drop_closed_loop_errors
        guarded(fn)

    app.run(entry, flags_parser=parse_flags)


# The default --config of this process (overrides of a default config are applied when the flag is defined).
_DEFAULT_CONFIG = [""]


def define_config(default: str | None, help_text: str = "Config file, optionally FILE:VARIANT.") -> Any:
    """The --config flag (a Python config file with get_config(variant)); fields are overridden as --config.X=V."""
    _DEFAULT_CONFIG[0] = default or ""
    try:
        return config_flags.DEFINE_config_file("config", default, help_text, lock_config=True)
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        bad_override(err, sys.argv)


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
