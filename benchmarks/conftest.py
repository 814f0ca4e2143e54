"""Benchmarks: pytest-benchmark with run info in every record (`make benchmark`; smoke: `make benchmark-smoke`)."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
# Dataset caches of the data-path cases go to a temporary folder, not the user's ~/.cache.
_HF_HOME = tempfile.mkdtemp(prefix="hf-ser-bench-hf-home-")
atexit.register(shutil.rmtree, _HF_HOME, ignore_errors=True)
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_DATASETS_CACHE"] = os.path.join(_HF_HOME, "datasets")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

from common import HAS_CUDA, SMOKE, run_info  # noqa: E402

_INFO = None


@pytest.fixture
def info(benchmark):
    """Stamp each benchmark record with device, versions and git sha; cases add their own fields."""
    global _INFO
    if _INFO is None:
        _INFO = run_info()
    benchmark.extra_info.update(_INFO, device="cpu")  # a case on the GPU says so
    return benchmark.extra_info


def pytest_benchmark_update_json(config, benchmarks, output_json):
    output_json["hf_ser_run_info"] = _INFO or run_info()


def pytest_collection_modifyitems(config, items):
    """GPU cases are skipped without CUDA, except in a smoke run, which runs them on the CPU (see common.ACCEL)."""
    skip = pytest.mark.skip(reason="no CUDA device: GPU cases run on a GPU machine (`make benchmark-gpu`)")
    for item in items:
        if "cuda" in item.keywords and not HAS_CUDA and not SMOKE:
            item.add_marker(skip)


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a CUDA device")
    config.addinivalue_line("markers", "big_disk: needs tens of GB of temporary disk (make benchmark-build)")
    if config.getoption("benchmark_disable", False) and not config.getoption("collectonly", False):
        # every case reads its own timings (benchmark.stats): with benchmarking off there are none to read
        pytest.exit("benchmarks/ measure, so --benchmark-disable leaves them nothing to do: run `make benchmark`, or "
                    "`pytest benchmarks` without that flag", returncode=2)  # fmt: skip
