"""The dataset builder's peak memory and clips/s on a synthetic corpus of 5 h and of 50 h.

The corpus: a CSV manifest (path, label, speaker) of distinct 4 s clips (noise and tones of random level and pitch,
mono 16-bit WAV at 16 kHz, 40 speakers, 8 labels), written once per size under the run's temporary folder (50 h is
5.8 GB; the build's decode cache and its output are as large again each, so a 50 h case needs about 18 GB free).
Each build runs in a process of its own (``dataset_scripts/build.py --manifest``, ``--num-proc 2``) that reports its
peak resident memory (``VmHWM``) and its workers' largest; clips/s is clips over the build's wall time, scanning and
card included.

Cases, one run:
- ``streaming``: this builder (audio to a decode cache on disk as it arrives, Parquet row groups written from it)
  on 5 h and 50 h: the goal is a peak within 10% between the two;
- ``before``: the builder of commit ``BASELINE_COMMIT`` (every decoded clip held in memory, then ``Dataset.from_dict``),
  read from git into a temporary folder, on 5 h only (at 50 h it would hold 6 GB of audio): the clips/s to match.

``HF_SER_BUILD_HOURS`` (e.g. ``5,20``) sets the sizes; the smoke run uses 0.05 h and 0.2 h.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from common import REPO, SMOKE

BASELINE_COMMIT = "97c6630"
CLIP_S, RATE, SPEAKERS = 4.0, 16_000, 40
LABELS = ("angry", "calm", "disgust", "fear", "happy", "neutral", "sad", "surprise")
HOURS = [float(h) for h in os.environ.get("HF_SER_BUILD_HOURS", "0.05,0.2" if SMOKE else "5,50").split(",")]
_CORPORA: dict[float, Path] = {}

# Run inside the build's process: the build, then its peak memory and its workers'.
_RUNNER = """
import json, resource, runpy, sys, time
t0 = time.perf_counter()
sys.argv = [{script!r}, *sys.argv[1:]]
try:
    runpy.run_path({script!r}, run_name="__main__")
except SystemExit as stop:
    code = stop.code or 0
else:
    code = 0
import hf_ser.data.build
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
print("HF_SER_RSS " + json.dumps({{"code": code, "wall_s": time.perf_counter() - t0,
      "peak_rss_mb": int(status["VmHWM"].split()[0]) / 1024,
      "worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
      "builder": hf_ser.data.build.__file__}}))
"""


def _corpus(root: Path, hours: float) -> Path:
    """A manifest of distinct clips, ``hours`` long in all (made once per size)."""
    if hours in _CORPORA:
        return _CORPORA[hours]
    folder = root / f"corpus_{hours:g}h"
    n = round(hours * 3600 / CLIP_S)
    rng = np.random.default_rng(int(hours * 1000))
    t = np.arange(int(CLIP_S * RATE)) / RATE
    rows = []
    for i in range(n):
        spk = f"s{i % SPEAKERS:02d}"
        path = folder / spk / f"clip{i:06d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        tone = np.sin(2 * np.pi * rng.uniform(90, 400) * t) * rng.uniform(0.05, 0.3)
        audio = tone + rng.standard_normal(t.size) * rng.uniform(0.005, 0.05)
        sf.write(path, audio.astype(np.float32), RATE, subtype="PCM_16")
        rows.append((path.relative_to(folder).as_posix(), LABELS[(i // SPEAKERS) % len(LABELS)], spk))
    with open(folder / "manifest.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label", "speaker"])
        w.writerows(rows)
    _CORPORA[hours] = folder / "manifest.csv"
    return _CORPORA[hours]


def _baseline_src(root: Path) -> Path | None:
    """The source tree of BASELINE_COMMIT, from git; None where this checkout has no history."""
    target = root / "baseline"
    if target.exists():
        return target
    try:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", BASELINE_COMMIT, "src", "dataset_scripts"],
                                 capture_output=True, check=True).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    target.mkdir()
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def _build(manifest: Path, out: Path, src: Path) -> dict:
    script = src / "dataset_scripts" / "build.py"
    cmd = [sys.executable, "-c", _RUNNER.format(script=str(script)), "--manifest", f"synth={manifest}",
           "--output", str(out), "--num-proc", "2", "--overwrite"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(src / "src"), "TQDM_DISABLE": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3 * 3600)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("HF_SER_RSS ")), None)
    assert line, proc.stderr[-3000:]
    result = json.loads(line.split(" ", 1)[1])
    assert result["code"] == 0, proc.stderr[-3000:]
    assert Path(result["builder"]).is_relative_to(src), result["builder"]  # the builder meant, not the installed one
    return result


@pytest.fixture(scope="module")
def build_root(tmp_path_factory):
    """The corpora and outputs; removed after the last case (50 h of them is 6 GB)."""
    root = tmp_path_factory.mktemp("build_memory")
    yield root
    shutil.rmtree(root, ignore_errors=True)
    _CORPORA.clear()


@pytest.mark.big_disk
@pytest.mark.parametrize("case", [f"streaming-{h:g}h" for h in HOURS] + [f"before-{HOURS[0]:g}h"])
def test_build_memory(benchmark, info, build_root, case):
    benchmark.group = "dataset build: peak memory over corpus size"
    root = build_root
    builder, size = case.rsplit("-", 1)
    hours = float(size.rstrip("h"))
    manifest = _corpus(root, hours)
    src = REPO if builder == "streaming" else _baseline_src(root)
    if src is None:
        pytest.skip(f"no git history here to read the builder of {BASELINE_COMMIT} from")
    out = root / f"out-{case}"
    result = {}

    def run():
        result.update(_build(manifest, out, src))

    benchmark.pedantic(run, rounds=1, iterations=1, warmup_rounds=0)
    clips = round(hours * 3600 / CLIP_S)
    built = sum(p.stat().st_size for p in (out / "data").iterdir())
    info.update(case=case, builder=builder if builder == "streaming" else f"{builder} ({BASELINE_COMMIT})",
                hours=hours, clips=clips, wall_s=result["wall_s"], clips_per_s=clips / result["wall_s"],
                peak_rss_mb=result["peak_rss_mb"], worker_peak_rss_mb=result["worker_peak_rss_mb"],
                output_gb=built / 1e9, num_proc=2)  # fmt: skip
    shutil.rmtree(out, ignore_errors=True)
    assert np.isfinite(result["peak_rss_mb"]) and result["peak_rss_mb"] > 0
