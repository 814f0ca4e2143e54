"""A user's own corpus end to end: every input format (CSV, TSV, JSONL, EmoBox JSONL, audiofolder, save_to_disk,
Parquet) trains a few steps into a pipeline()-loadable folder labelled with the data's own label set, predicts with
those columns and re-scores on the same test split; the protocol rules for a user's data; bad input; --labels and
--label_map; the README's "Bring your own corpus" section."""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import REPO, load_script

from hf_ser.data.loading import DataError, load_ser_dataset, select_labels
from hf_ser.data.prepare import prepare_dataset
from hf_ser.data.protocols import speaker_disjoint_split, speaker_folds
from hf_ser.data.sources import SourceError, SourceOptions, read_source

LABELS = ("anger", "boredom", "neutral")
SPEAKERS = [f"{i:02d}" for i in range(6)]
train_script = load_script("recipes/train.py")
eval_script = load_script("recipes/eval.py")


def _tone(label: str, speaker: int, take: int, sr: int) -> np.ndarray:
    rng = np.random.default_rng(1000 * speaker + 10 * LABELS.index(label) + take)
    t = np.arange(int(0.5 * sr)) / sr
    f0 = 180 + 120 * LABELS.index(label) + 7 * speaker
    return (0.3 * np.sin(2 * np.pi * f0 * t) + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> tuple[Path, list[dict]]:
    """54 clips: 6 speakers x 3 labels x 3 takes, as WAV files (two sampling rates), with their rows."""
    root = tmp_path_factory.mktemp("own")
    rows = []
    for s, spk in enumerate(SPEAKERS):
        for label in LABELS:
            for take in range(3):
                sr = 22_050 if s % 2 else 16_000
                name = f"wav/{spk}_{label}_{take}.wav"
                (root / "wav").mkdir(exist_ok=True)
                sf.write(root / name, _tone(label, s, take, sr), sr)
                rows.append({"path": name, "label": label, "speaker": spk, "gender": "male" if s % 2 else "female",
                             "split": "test" if s >= 4 else "train"})  # fmt: skip
    return root, rows


def _write_csv(path: Path, rows: list[dict], delimiter=",", columns=None) -> Path:
    columns = columns or [c for c in rows[0] if c != "split"]
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, delimiter=delimiter, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def _make_input(kind: str, root: Path, rows: list[dict]) -> tuple[str, list[str]]:
    """(--dataset, extra flags) of the clips in one input format."""
    if kind == "csv":
        return str(_write_csv(root / "manifest.csv", rows)), []
    if kind == "tsv":
        return str(_write_csv(root / "manifest.tsv", rows, delimiter="\t")), []
    if kind == "jsonl":
        path = root / "manifest.jsonl"
        path.write_text("".join(json.dumps({"audio": r["path"], "emotion": r["label"], "spk": r["speaker"]}) + "\n"
                                for r in rows))  # fmt: skip
        return str(path), []
    if kind == "emobox":
        # EmoBox's layout: data/<corpus>/fold_1/<corpus>_{train,test}_fold_1.jsonl, label_map.json beside the folds,
        # wav paths relative to the folder holding downloads/; no speaker field
        box = root / "emobox"
        fold = box / "data" / "mycorpus" / "fold_1"
        fold.mkdir(parents=True)
        codes = {"anger": "W", "boredom": "L", "neutral": "N"}
        (box / "data" / "mycorpus" / "label_map.json").write_text(json.dumps({v: k for k, v in codes.items()}))
        (box / "downloads").mkdir()
        os.symlink(root / "wav", box / "downloads" / "wav")
        for split in ("train", "test"):
            lines = [json.dumps({"key": f"mycorpus-{Path(r['path']).stem}", "dataset": "mycorpus",
                                 "wav": f"downloads/{r['path']}", "type": "raw", "sample_rate": 16000,
                                 "length": 0.5, "emo": codes[r["label"]], "channel": 1})
                     for r in rows if r["split"] == split]  # fmt: skip
            (fold / f"mycorpus_{split}_fold_1.jsonl").write_text("\n".join(lines) + "\n")
        return str(fold), []
    if kind == "audiofolder":
        folder = root / "audiofolder"
        meta = []
        for r in rows:
            target = folder / r["label"] / Path(r["path"]).name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((root / r["path"]).read_bytes())
            meta.append({"file_name": f"{r['label']}/{target.name}", "speaker": r["speaker"]})
        _write_csv(folder / "metadata.csv", meta)
        return str(folder), []
    from datasets import Audio, ClassLabel, Dataset, DatasetDict, Features, Value

    features = Features({"audio": Audio(), "emotion": ClassLabel(names=list(LABELS)), "speaker_id": Value("string")})
    dd = DatasetDict({
        split: Dataset.from_dict({"audio": [str(root / r["path"]) for r in rows if r["split"] == split],
                                  "emotion": [r["label"] for r in rows if r["split"] == split],
                                  "speaker_id": [r["speaker"] for r in rows if r["split"] == split]},
                                 features=features)
        for split in ("train", "test")
    })  # fmt: skip
    if kind == "save_to_disk":
        dd.save_to_disk(str(root / "saved"))
        return str(root / "saved"), []
    (root / "parquet").mkdir()
    for split, ds in dd.items():
        ds.to_parquet(str(root / "parquet" / f"{split}-00000-of-00001.parquet"))
    return str(root / "parquet"), []


KINDS = ("csv", "tsv", "jsonl", "emobox", "audiofolder", "save_to_disk", "parquet")


@pytest.mark.parametrize("kind", KINDS)
def test_every_input_format_trains_predicts_and_rescores_with_its_own_labels(kind, clips, tmp_path, capsys):
    from transformers import pipeline

    root, rows = clips
    work = tmp_path / "in"
    work.mkdir()
    for p in (root / "wav").iterdir():
        (work / "wav").mkdir(exist_ok=True)
        (work / "wav" / p.name).write_bytes(p.read_bytes())
    dataset, flags = _make_input(kind, work, rows)
    out = tmp_path / "run"
    assert train_script.main(["--model_name_or_path", "hf-ser/tiny-hubert", "--tiny_hidden_size", "32",
                              "--tiny_num_layers", "1", "--dataset", dataset, *flags, "--output_dir", str(out),
                              "--max_steps", "2", "--per_device_train_batch_size", "8", "--eval_strategy", "no",
                              "--save_strategy", "no", "--load_best_model_at_end", "false",
                              "--report_to", "none"]) == 0  # fmt: skip
    results = json.loads((out / "results.json").read_text())
    # its labels are the data's: EmoBox's label_map.json names, the others' own strings (sorted) or ClassLabel
    assert results["labels"] == list(LABELS)
    # the data's own splits where it has them (EmoBox's fold, the DatasetDicts' train/test), else speaker-disjoint
    expected = "default" if kind in ("emobox", "save_to_disk", "parquet") else "speaker"
    assert results["protocol"] == expected
    test = results["data"]["splits"]["test"]
    if kind in ("emobox", "save_to_disk", "parquet"):
        assert test["clips"] == 18  # speakers 04 and 05: the given test split
    clf = pipeline("audio-classification", model=str(out), device="cpu")
    assert set(clf.model.config.id2label.values()) == set(LABELS)
    wav = str(work / rows[0]["path"])
    assert {p["label"] for p in clf(wav, top_k=None)} == set(LABELS)
    from hf_ser import cli

    capsys.readouterr()
    assert cli.main(["predict", wav, "--model", str(out)]) == 0
    header = capsys.readouterr().out.splitlines()[0].split(",")
    assert [c.removeprefix("p_") for c in header if c.startswith("p_")] == list(LABELS)
    # eval.py score on the same test split reproduces the run's test result, clip for clip
    assert eval_script.main(["score", "--model", str(out), "--dataset", dataset, *flags, "--protocol",
                             results["protocol"], "--output_dir", str(tmp_path / "score")]) == 0  # fmt: skip
    scored = json.loads((tmp_path / "score" / "results.json").read_text())["test"]
    assert scored["clips_fingerprint"] == results["test"]["clips_fingerprint"]
    assert scored["accuracy"] == pytest.approx(results["test"]["accuracy"])


# ----------------------------------------------------------------------------------------------------------------
# Protocol rules for a user's data
# ----------------------------------------------------------------------------------------------------------------
def _skewed(n_speakers=30, seed=0):
    """Speakers who each recorded only some labels (not every actor does every emotion)."""
    rng = np.random.default_rng(seed)
    speakers, groups, labels = [], [], []
    for s in range(n_speakers):
        for lab in rng.choice(5, size=int(rng.integers(1, 4)), replace=False):
            for _ in range(int(rng.integers(2, 9))):
                speakers.append(f"s{s}")
                groups.append("c|female" if s % 2 else "c|male")
                labels.append(int(lab))
    return speakers, groups, labels


def test_speaker_split_stratified_by_label_is_disjoint_and_balances_labels():
    speakers, groups, labels = _skewed()
    strat = speaker_disjoint_split(speakers, groups, test_size=0.2, validation_size=0.1, seed=0, labels=labels)
    assert strat == speaker_disjoint_split(speakers, groups, test_size=0.2, validation_size=0.1, seed=0,
                                           labels=labels)  # fmt: skip
    owner = {}
    for split, idx in strat.items():
        for i in idx:
            assert owner.setdefault(speakers[i], split) == split, "a speaker in two splits"

    def deviation(split_idx):
        total = np.bincount(labels, minlength=5)
        test = np.bincount([labels[i] for i in split_idx["test"]], minlength=5)
        return np.abs(test / total - 0.2).max()

    plain = speaker_disjoint_split(speakers, groups, test_size=0.2, validation_size=0.1, seed=0)
    assert deviation(strat) < deviation(plain)
    assert deviation(strat) < 0.12
    assert {labels[i] for i in strat["test"]} == set(labels)


def test_speaker_folds_stratified_cover_every_speaker_once():
    speakers, groups, labels = _skewed(seed=1)
    folds = speaker_folds(speakers, groups, 5, seed=3, labels=labels)
    assert folds == speaker_folds(speakers, groups, 5, seed=3, labels=labels)
    fold_of = {}
    for spk, f in zip(speakers, folds, strict=True):
        assert fold_of.setdefault(spk, f) == f
    assert sorted(set(fold_of.values())) == [0, 1, 2, 3, 4]
    for f in range(5):
        assert {lab for lab, g in zip(labels, folds, strict=True) if g == f} == set(labels)


def test_prepared_splits_are_the_same_on_a_rebuild_and_every_protocol_is_speaker_disjoint(clips, tmp_path):
    root, rows = clips
    manifest = _write_csv(root / "m_rebuild.csv", rows)
    a = prepare_dataset(str(manifest), cache_dir=tmp_path / "a")
    b = prepare_dataset(str(manifest), cache_dir=tmp_path / "b")
    assert prepare_dataset(str(manifest), cache_dir=tmp_path / "a") == a  # found, not rebuilt
    for protocol in ("speaker", "speaker_fold0", "speaker_fold2", "random"):
        da, db = (load_ser_dataset(str(p), protocol) for p in (a, b))
        for split in ("train", "validation", "test"):
            assert sorted(da[split]["file"]) == sorted(db[split]["file"])
        if protocol != "random":
            spk = {s: set(da[s]["speaker"]) for s in da}
            assert not spk["train"] & spk["test"] and not spk["train"] & spk["validation"]
            assert not spk["validation"] & spk["test"]
    # the k folds' test splits cover every speaker exactly once
    seen = []
    for k in range(5):
        seen += sorted(set(load_ser_dataset(str(a), f"speaker_fold{k}", splits=("test",))["test"]["speaker"]))
    assert sorted(seen) == sorted(f"m_rebuild_{s}" for s in SPEAKERS)


def test_labels_and_label_map_change_what_is_trained_and_scored_nothing_else(clips):
    root, rows = clips
    manifest = str(_write_csv(root / "m_labels.csv", rows))
    full = load_ser_dataset(manifest, "speaker")
    two, dropped = select_labels(full, ["neutral", "anger"])
    assert two["test"].features["label"].names == ["neutral", "anger"]
    keep = {i for i, n in enumerate(full["test"].features["label"].names) if n in ("neutral", "anger")}
    assert sorted(two["test"]["file"]) == sorted(f for f, y in zip(full["test"]["file"], full["test"]["label"],
                                                                     strict=True) if y in keep)  # fmt: skip
    assert dropped["test"] == len(full["test"]) - len(two["test"])
    from hf_ser.data.loading import merge_labels

    merged, changes = merge_labels(full, {"boredom": "neutral"})
    assert changes == {"boredom": "neutral"} and merged["test"].features["label"].names == ["anger", "neutral"]
    assert sorted(merged["test"]["file"]) == sorted(full["test"]["file"])
    with pytest.raises(DataError, match="calm not among the dataset's labels"):
        select_labels(full, ["calm", "anger"])


# ----------------------------------------------------------------------------------------------------------------
# Bad input: one line and a report
# ----------------------------------------------------------------------------------------------------------------
def test_missing_column_too_few_speakers_and_bad_files_each_say_what(clips, tmp_path, capsys):
    root, rows = clips
    nolabel = _write_csv(tmp_path / "nolabel.csv", rows, columns=["path", "speaker"])
    with pytest.raises(SourceError, match=r"no label column \(looked for label, emotion, emo.*it has: path, speaker"):
        read_source(str(nolabel))
    code = train_script.main(["--dataset", str(nolabel), "--output_dir", str(tmp_path / "x"),
                              "--model_name_or_path", "hf-ser/tiny-hubert"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--label_column COLUMN" in err[0]
    with pytest.raises(SourceError, match="no column 'emo' \\(--label_column\\)"):
        read_source(str(nolabel), SourceOptions(label_column="emo"))
    # two speakers: the speaker protocols are not written, and asking for one says why
    two = _write_csv(tmp_path / "two.csv", [dict(r, path=str(root / r["path"])) for r in rows
                                            if r["speaker"] in ("00", "01")])  # fmt: skip
    with pytest.raises(DataError, match="no 'speaker' protocol: the speaker protocol needs at least 3 speakers"):
        load_ser_dataset(str(two), "speaker")
    assert len(load_ser_dataset(str(two), "random")["test"]) > 0
    # no speaker column at all
    nospk = _write_csv(tmp_path / "nospk.csv", [dict(r, path=str(root / r["path"])) for r in rows],
                       columns=["path", "label"])  # fmt: skip
    with pytest.raises(DataError, match="no 'speaker' protocol: 54 of 54 clips name no speaker"):
        load_ser_dataset(str(nospk), "speaker")
    # unreadable, empty, silent and missing files are reported, never silently dropped
    bad = [dict(r, path=str(root / r["path"])) for r in rows]
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 10)
    sf.write(tmp_path / "silent.wav", np.zeros(8000, dtype=np.float32), 16000)
    for name in ("empty.wav", "corrupt.wav", "silent.wav", "missing.wav"):
        bad.append({"path": str(tmp_path / name), "label": "anger", "speaker": "00", "gender": "female"})
    folder = prepare_dataset(str(_write_csv(tmp_path / "bad.csv", bad)), cache_dir=tmp_path / "cache")
    skipped = {
        Path(r["file"]).name: r["reason"] for r in csv.DictReader((folder / "skipped.csv").read_text().splitlines())
    }
    assert set(skipped) == {"empty.wav", "corrupt.wav", "silent.wav", "missing.wav"}
    assert skipped["missing.wav"].startswith("file not found")
    assert skipped["silent.wav"].startswith("silent") and skipped["corrupt.wav"].startswith("unreadable audio")


# ----------------------------------------------------------------------------------------------------------------
# dataset_scripts/build.py: any mix
# ----------------------------------------------------------------------------------------------------------------
def test_build_script_mixes_a_manifest_with_a_corpus_and_labels_meet_through_the_alias_table(clips, small_corpora,
                                                                                            tmp_path, capsys):  # fmt: skip
    root, rows = clips
    build = load_script("dataset_scripts/build.py")
    manifest = _write_csv(root / "m_mix.csv", rows)
    out = tmp_path / "mix"
    assert build.main(["--corpus", f"savee={small_corpora['savee']}", "--manifest", f"emodb={manifest}",
                       "--output", str(out), "--num-proc", "1"]) == 0  # fmt: skip
    from datasets import load_dataset

    ds = load_dataset(str(out), "emodb")  # the manifest's corpus alone (its own config in a mix)
    names = ds["test"].features["label"].names
    assert "angry" in names and "anger" not in names and "boredom" in names  # anger met SAVEE's angry
    assert set(ds["test"]["raw_label"]) == set(LABELS)
    assert set(ds["test"]["corpus"]) == {ds["test"].features["corpus"].names.index("emodb")}
    from datasets import get_dataset_infos
    from huggingface_hub import DatasetCard

    splits = get_dataset_infos(str(out))["emodb"].splits  # the card's split sizes, as datasets reads them
    assert {s: splits[s].num_examples for s in ds} == {s: len(d) for s, d in ds.items()}
    card = DatasetCard.load(out / "README.md").data
    assert (card.license, card.license_link, card.task_ids) == ("other", "LICENSE.md", ["audio-emotion-recognition"])
    assert "SAVEE" in (out / "LICENSE.md").read_text() and "emodb" in (out / "LICENSE.md").read_text()
    text = capsys.readouterr().out
    assert "loco_savee" in text and "loco_emodb     not written: no clip for split(s) train" in text
    code = build.main(["--manifest", f"random={manifest}", "--output", str(tmp_path / "bad")])
    assert code == 2 and "is a protocol's name" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------------------------
# The README's section, run as written (with a tiny training budget)
# ----------------------------------------------------------------------------------------------------------------
def _readme_section() -> str:
    readme = (REPO / "README.md").read_text()
    return readme.split("### Bring your own corpus", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]


def test_readme_bring_your_own_corpus_section_runs(tmp_path):
    section = _readme_section()
    commands = re.findall(r"```bash\n(.*?)```", section, flags=re.S)[0]
    python = re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1"}
    for line in commands.replace("\\\n", " ").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = line.replace("data/demo-own", str(tmp_path / "data")).replace("outputs/demo-own", str(tmp_path / "out"))
        if "synthesize_own_corpus.py" in line:
            line += " --takes 2"
        if "recipes/train.py" in line:
            line += " --max_steps 3 --eval_strategy no --save_strategy no --load_best_model_at_end false"
        proc = subprocess.run(shlex.split(line), cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, (line, proc.stderr[-2000:])
    code = python.replace("data/demo-own", str(tmp_path / "data")).replace("outputs/demo-own", str(tmp_path / "out"))
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the README's own snippet
    assert (tmp_path / "out" / "results.json").is_file()
