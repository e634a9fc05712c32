"""JAX's persistent compilation cache for the command-line runs: a second run of a config skips compiling.

On by default for the `experiments` entry points (`--nocompile_cache` turns it off), in
$RMFT_JAX_CACHE_DIR or else the user cache directory ($XDG_CACHE_HOME or ~/.cache)/rmft_jax/jax.
The cache is trusted code: keep it in a directory only you can write.
"""

from __future__ import annotations

import os

import jax


def default_directory() -> str:
    """$RMFT_JAX_CACHE_DIR, else $XDG_CACHE_HOME/rmft_jax/jax, else ~/.cache/rmft_jax/jax."""
    if os.environ.get("RMFT_JAX_CACHE_DIR"):
        return os.environ["RMFT_JAX_CACHE_DIR"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "rmft_jax", "jax")


def enable(directory: str | None = None) -> str:
    """Cache every compiled program (any size, any compile time) in `directory`; returns the directory used."""
    directory = directory or default_directory()
    os.makedirs(directory, mode=0o700, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", directory)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return directory
