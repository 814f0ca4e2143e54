"""The dataset builder never deletes a corpus or a good build, never serves another build's data, cleans up on
SIGTERM, and writes stable skip reasons."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, load_script, write_wav

cli = load_script("dataset_scripts/eight_emotions.py")


def _wavs(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.wav"))


@pytest.mark.parametrize("where", ["same", "inside", "contains"])
def test_output_overlapping_an_input_is_refused_before_anything_is_touched(small_corpora, tmp_path, capsys, where):
    rav = small_corpora["ravdess"]
    before = _wavs(rav)
    args = ["--savee", str(small_corpora["savee"]), "--tess", str(small_corpora["tess"]), "--overwrite"]
    if where == "same":
        out = rav
    elif where == "inside":
        out = rav / "Actor_01" / "built"
    else:  # the corpus folder sits inside the output
        out = rav.parent
    code = cli.main(["--ravdess", str(rav), *args, "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "--ravdess folder" in err and "nothing was touched" in err
    assert _wavs(rav) == before and not (rav / "Actor_01" / "built").exists()
    assert not list(rav.parent.glob(".*partial*"))


def test_overwrite_replaces_only_a_build_and_only_once_the_new_one_is_complete(small_corpora, tmp_path, capsys,
                                                                              monkeypatch):  # fmt: skip
    import hf_ser.data.build as data

    two = ["--savee", str(small_corpora["savee"]), "--tess", str(small_corpora["tess"])]
    out = tmp_path / "ds"
    assert cli.main([*two, "--output", str(out)]) == 0
    old = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    # a rebuild that fails at the last step leaves the old build exactly as it was
    def fail(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(data, "_write_skipped", fail)
    with pytest.raises(OSError, match="disk full"):
        cli.main([*two, "--ravdess", str(small_corpora["ravdess"]), "--output", str(out), "--overwrite"])
    assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == old
    # no partial build is left; what was decoded is kept for the rerun, which reads it back and then removes it
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".ds.")] == [".ds.decoded"]
    monkeypatch.undo()
    assert cli.main([*two, "--ravdess", str(small_corpora["ravdess"]), "--output", str(out), "--overwrite"]) == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".ds.")]

    # a folder the builder did not write is never replaced
    mine = tmp_path / "my_documents"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    capsys.readouterr()
    assert cli.main([*two, "--output", str(mine), "--overwrite"]) == 2
    assert "files a dataset build did not write" in capsys.readouterr().err
    assert (mine / "thesis.tex").read_text() == "years of work"


def test_two_same_named_folders_and_a_rebuild_in_place_load_their_own_data(small_corpora, tmp_path):
    """The plain load_dataset(DIR, config) the README shows, not only hf-ser's loader."""
    from datasets import load_dataset

    from hf_ser.data.build import BuildConfig, build_eight_emotions

    def build(corpora, out, **kw):
        build_eight_emotions(
            BuildConfig(corpora={k: str(small_corpora[k]) for k in corpora}, output_dir=str(out), **kw)
        )

    def rows(out, protocol="speaker"):
        dd = load_dataset(str(out), protocol)
        return sum(len(d) for d in dd.values()), sorted(f for d in dd.values() for f in d["file"])

    a, b = tmp_path / "a" / "eight_emotions", tmp_path / "b" / "eight_emotions"
    build(["ravdess", "crema_d", "tess", "savee"], a)
    build(["savee", "tess"], b)
    assert rows(a)[0] == 34 and rows(b)[0] == 14
    assert rows(a)[0] == 34  # loading b did not replace a's cache either
    build(["ravdess", "savee", "tess"], b, overwrite=True)  # rebuilt in place with other content
    assert rows(b)[0] == 26
    assert rows(b, "random")[0] == 26


def test_sigterm_during_a_build_cleans_up_like_ctrl_c(tmp_path):
    corpus = tmp_path / "savee"
    for spk in ("DC", "JE", "JK", "KL"):
        for i in range(1, 41):
            # distinct audio per speaker (a seed of len(spk) made the four speakers byte-identical, so the build
            # could only fail; the test passed while the signal happened to land before that failure)
            write_wav(corpus / "AudioData" / spk / f"n{i:02d}.wav", sr=44_100, seconds=6.0,
                      seed=i * 7 + sum(map(ord, spk)))  # fmt: skip
    out = tmp_path / "ds"
    env = {**os.environ, "TQDM_DISABLE": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "dataset_scripts/eight_emotions.py"), "--savee", str(corpus), "--output", str(out),
         "--num-proc", "2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".ds.partial-*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the build ended before it could be interrupted"
    time.sleep(0.5)  # let the decoding workers start (the whole build takes about 2 s after this point)
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()  # never leave a hung build behind
    assert proc.returncode == 143, err[-2000:]
    assert "interrupted (SIGTERM)" in err and "Traceback" not in err and "BrokenPipeError" not in err
    # no dataset and no partial build; the clips decoded so far are kept, and the message says where
    assert not out.exists() and [p.name for p in tmp_path.glob(".ds.*")] == [".ds.decoded"]
    kept = int(re.search(r"(\d+) decoded clips .* are kept in", err).group(1))
    assert 0 < kept <= 160
    # the same command again decodes only the rest, gives every clip once, and removes the cache
    proc = subprocess.run(
        [sys.executable, str(REPO / "dataset_scripts/eight_emotions.py"), "--savee", str(corpus), "--output", str(out),
         "--num-proc", "2"], env=env, capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"resuming: {kept} clips decoded by an interrupted build" in proc.stderr
    fresh = tmp_path / "fresh"
    proc = subprocess.run(
        [sys.executable, str(REPO / "dataset_scripts/eight_emotions.py"), "--savee", str(corpus), "--output",
         str(fresh)], env=env, capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    blocks = {p.name: p.read_bytes() for p in (out / "data").iterdir()}
    assert blocks and blocks == {p.name: p.read_bytes() for p in (fresh / "data").iterdir()}  # byte for byte
    assert not list(tmp_path.glob(".ds.*"))


def test_skip_reasons_name_no_memory_address(small_corpora, tmp_path):
    from hf_ser.data.build import BuildConfig, build_eight_emotions

    bad = small_corpora["ravdess"] / "Actor_05" / "03-01-04-01-01-01-05.wav"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_bytes(b"RIFF not really a wav file at all" * 4)
    out = tmp_path / "ds"
    build_eight_emotions(BuildConfig(corpora={k: str(v) for k, v in small_corpora.items()}, output_dir=str(out)))
    with open(out / "skipped.csv") as fh:
        reasons = [r["reason"] for r in csv.DictReader(fh)]
    assert any(r.startswith("unreadable audio") for r in reasons)
    assert not [r for r in reasons if re.search(r"0x[0-9a-fA-F]{6,}", r)], reasons


def test_demo_synthesis_overwrites_only_its_own_folder(tmp_path, capsys):
    synth = load_script("dataset_scripts/synthesize_demo_corpora.py")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert synth.main(["--out", str(mine), "--overwrite"]) == 2
    assert "did not write" in capsys.readouterr().err and (mine / "notes.txt").read_text() == "keep me"
