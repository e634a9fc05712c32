"""Test setup: CPU only, quiet logs, and one persistent compilation cache for the session.

The cache directory is shared by the xdist workers and the subprocesses the CLI tests start (it is
in the environment), so a program compiled by one test (a smoke run, then its resumption or its CLI
twin) is loaded, not recompiled, by the next. It starts empty in each session and is removed at its
end: nothing is reused across code versions. RMFT_JAX_TEST_CACHE=0 turns it off. The smoke runs that several tests
read are shared the same way (RMFT_JAX_TEST_RUNS).
"""

import os
import shutil
import tempfile

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_CREATED_CACHE = None
if os.environ.get("RMFT_JAX_TEST_CACHE", "1") != "0" and "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    # xdist workers inherit the controller's environment, so all of them see the same directory.
    _CREATED_CACHE = os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="rmft_jax_test_cache_")
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "-1"
# The smoke runs several tests read (tests/number_fixture.run_shared): one directory for the session, so each runs
# once whichever worker asks first.
_CREATED_RUNS = None
if "RMFT_JAX_TEST_RUNS" not in os.environ:
    _CREATED_RUNS = os.environ["RMFT_JAX_TEST_RUNS"] = tempfile.mkdtemp(prefix="rmft_jax_test_runs_")


def pytest_unconfigure(config):
    """The process that made the cache and runs directories removes them when the session ends."""
    for created in (_CREATED_CACHE, _CREATED_RUNS):
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
