"""Shared test set-up: the real-data folder and determinism."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", category=DeprecationWarning, module="torch_geometric")

ROOT = Path(__file__).resolve().parents[1]

# The tests' caches (prepared datasets, featurisations) go to a folder of this checkout, not the user's
# ~/.cache/morphogen; subprocesses, notebook kernels and xdist workers inherit it. $MORPHOGEN_TEST_CACHE moves it.
os.environ["MORPHOGEN_CACHE"] = os.environ.get("MORPHOGEN_TEST_CACHE", str(ROOT / ".pytest_cache" / "morphogen"))


def shared_data_dir() -> Path:
    """../shared/data (or $MORPHOGEN_TEST_DATA)."""
    return Path(os.environ.get("MORPHOGEN_TEST_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    """The real data; under CI=true its absence is a failure, elsewhere the test is skipped with the reason."""
    path = shared_data_dir()
    if not path.is_dir():
        msg = f"real test data not found at {path} (set MORPHOGEN_TEST_DATA)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(autouse=True)
def _torch_threads():
    import torch

    # one thread: the models in tests are small, and two threads oversubscribe a 2-core machine under xdist
    torch.set_num_threads(1)
    yield
