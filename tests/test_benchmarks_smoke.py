"""The benchmark suite itself, once, on tiny configs (one round each): it must run and its report must render."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import REPO


def test_benchmark_suite_smoke_and_report(tmp_path):
    out = tmp_path / "smoke.json"
    env = {**os.environ, "HF_SER_BENCH_SMOKE": "1", "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1"}
    cmd = [sys.executable, "-m", "pytest", "benchmarks", "-q", "--benchmark-enable", f"--benchmark-json={out}",
           "-p", "no:cacheprovider", "-o", "addopts="]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    data = json.loads(out.read_text())
    names = {b["name"].split("[")[0] for b in data["benchmarks"]}
    assert {"test_inference_cpu_fp32", "test_train_step_cpu_fp32", "test_epoch_padding", "test_classifier_only_freezing",
            "test_augmentation_3s_clip", "test_collator_batch_8", "test_metrics_bundle_100k_x_8",
            "test_build_full_size"} <= names  # fmt: skip
    for b in data["benchmarks"]:
        assert {"git_sha", "device", "torch", "transformers"} <= set(b["extra_info"]), b["name"]
    assert data["hf_ser_run_info"]["smoke"] is True
    md = tmp_path / "smoke.md"
    report = subprocess.run([sys.executable, "benchmarks/report.py", str(out), "--output", str(md)], cwd=REPO,
                            capture_output=True, text=True)  # fmt: skip
    assert report.returncode == 0, report.stderr
    text = md.read_text()
    for heading in (
        "## Inference",
        "## Training step",
        "## Side by side (same run)",
        "## Data path",
        "## Dataset build",
    ):
        assert heading in text
    assert "smoke run" in text
