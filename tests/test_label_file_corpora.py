"""Corpora labelled by label files (IEMOCAP, ESD): fixture trees in the released layouts, with the quirks real copies
have (no-majority labels, a label without audio, audio without a label, a folder that disagrees with the label
file, GB18030 label files, the IEMOCAP_full_release/ level), and a build of one through the label layer."""

from __future__ import annotations

import json
import subprocess
import zlib
from pathlib import Path

import pytest
from conftest import load_script, write_wav

from hf_ser.data.corpora import MORE_CORPORA, CorpusError


def _wav(path: Path) -> None:
    seed = zlib.crc32(path.name.encode())  # distinct per name (a byte sum makes F007 and M000 the same clip)
    write_wav(path, seconds=0.6, freq=150 + seed % 200, seed=seed)


def _iemocap(root: Path) -> Path:
    """Two sessions under IEMOCAP_full_release/, an improvised and a scripted dialog each."""
    base = root / "IEMOCAP_full_release"
    codes = ["neu", "hap", "exc", "ang", "sad", "fru", "xxx"]
    for n in (1, 2):
        s = base / f"Session{n}"
        for dialog in (f"Ses0{n}F_impro01", f"Ses0{n}M_script01_1"):
            lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
            text = []
            for i, code in enumerate(codes):
                for who in "FM":
                    utt = f"{dialog}_{who}{i:03d}"
                    lines += [f"[{i}.0000 - {i + 0.6:.4f}]\t{utt}\t{code}\t[2.5000, 3.0000, 3.5000]",
                              "C-E1:\tNeutral state;\t()", ""]  # fmt: skip
                    text.append(f"{utt} [{i:03d}.0000-{i:03d}.6000]: words of {utt}.")
                    if not (n == 2 and utt.endswith("F006")):
                        _wav(s / "sentences" / "wav" / dialog / f"{utt}.wav")
            (s / "dialog" / "EmoEvaluation").mkdir(parents=True, exist_ok=True)
            (s / "dialog" / "EmoEvaluation" / f"{dialog}.txt").write_text("\n".join(lines) + "\n")
            (s / "dialog" / "transcriptions").mkdir(parents=True, exist_ok=True)
            (s / "dialog" / "transcriptions" / f"{dialog}.txt").write_text("\n".join(text) + "\n")
            _wav(s / "dialog" / "wav" / f"{dialog}.wav")  # the whole dialog: not an utterance, never read
    _wav(base / "Session1" / "sentences" / "wav" / "Ses01F_impro01" / "Ses01F_impro01_F099.wav")  # no label line
    (base / "Session2" / "sentences" / "wav" / "Ses02F_impro01" / "Ses02F_impro01_F006.wav").unlink(missing_ok=True)
    return root


def test_iemocap_labels_speakers_sessions_and_what_is_skipped(tmp_path):
    scan = MORE_CORPORA["iemocap"][1](_iemocap(tmp_path / "iemocap"))
    # 2 sessions x 2 dialogs x 6 labelled codes x 2 speakers, less the xxx lines
    assert len(scan.utterances) == 2 * 2 * 6 * 2
    u = next(u for u in scan.utterances if u.file.endswith("Ses01M_script01_1_F002.wav"))
    assert u.file == "IEMOCAP_full_release/Session1/sentences/wav/Ses01M_script01_1/Ses01M_script01_1_F002.wav"
    assert (u.emotion, u.raw_label, u.speaker, u.gender, u.language) == ("excited", "exc", "iemocap_Ses01F",
                                                                          "female", "en")  # fmt: skip
    assert u.text == "words of Ses01M_script01_1_F002."
    assert dict(u.extra) == {"session": "1", "mode": "scripted", "valence": "2.5000", "arousal": "3.0000",
                             "dominance": "3.5000"}  # fmt: skip
    assert {u.speaker for u in scan.utterances} == {"iemocap_Ses01F", "iemocap_Ses01M", "iemocap_Ses02F",
                                                    "iemocap_Ses02M"}  # fmt: skip
    why = {Path(s.file).stem: s.reason for s in scan.skipped}
    assert why["Ses01F_impro01_F006"] == "no majority label (xxx in EmoEvaluation)"
    assert why["Ses01F_impro01_F099"] == "no line for it in its session's EmoEvaluation files"
    assert why["Ses02F_impro01_F006"] == "labelled xxx in EmoEvaluation but no audio file"
    assert not any("dialog" in s.file for s in scan.skipped)  # whole-dialog recordings are not looked at


def test_iemocap_without_sessions_or_labels_is_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no Session1-Session5 folders"):
        MORE_CORPORA["iemocap"][1](tmp_path / "empty")
    (tmp_path / "bare" / "Session1" / "sentences" / "wav").mkdir(parents=True)
    with pytest.raises(CorpusError, match="no label lines"):
        MORE_CORPORA["iemocap"][1](tmp_path / "bare")


def _esd(root: Path) -> Path:
    for spk, words in (("0001", ["中立", "快乐", "生气", "伤心", "惊喜"]),
                       ("0011", ["Neutral", "Happy", "Angry", "Sad", "Surprise"])):  # fmt: skip
        folders = ["Neutral", "Happy", "Angry", "Sad", "Surprise"]
        lines = []
        for e, (word, folder) in enumerate(zip(words, folders, strict=True)):
            for i in range(3):
                utt = f"{spk}_{e * 350 + i + 1:06d}"
                lines.append(f"{utt}\ttext {utt}\t{word}")
                split = "train" if i < 2 else "test"
                _wav(root / spk / folder / split / f"{utt}.wav")
        encoding = "gb18030" if spk == "0001" else "utf-8"
        (root / spk / f"{spk}.txt").write_bytes(("\n".join(lines) + "\n").encode(encoding))
    _wav(root / "0011" / "Sad" / "train" / "0011_000002.wav")  # labelled Neutral in 0011.txt: a folder mismatch
    _wav(root / "0011" / "Sad" / "train" / "0011_009999.wav")  # no line in the label file
    return root


def test_esd_label_files_in_two_languages_and_folder_mismatch(tmp_path):
    scan = MORE_CORPORA["esd"][1](_esd(tmp_path / "Emotion Speech Dataset"))
    assert len(scan.utterances) == 2 * 5 * 3
    u = next(u for u in scan.utterances if u.file == "0001/Happy/train/0001_000351.wav")
    assert (u.emotion, u.raw_label, u.speaker, u.language, u.text) == ("happy", "Happy", "esd_0001", "zh",
                                                                        "text 0001_000351")  # fmt: skip
    assert dict(u.extra) == {"official_split": "train"}
    assert next(u for u in scan.utterances if u.file == "0011/Sad/test/0011_001053.wav").language == "en"
    why = {s.file: s.reason for s in scan.skipped}
    assert why["0011/Sad/train/0011_000002.wav"] == "in emotion folder Sad but labelled Neutral in 0011/0011.txt"
    assert why["0011/Sad/train/0011_009999.wav"] == "no line for it in 0011/0011.txt"


def test_build_of_iemocap_with_the_4_class_merge(tmp_path, capsys):
    build = load_script("dataset_scripts/build.py")
    out = tmp_path / "ds"
    code = build.main(["--corpus", f"iemocap={_iemocap(tmp_path / 'iemocap')}", "--label-map", "iemocap4",
                       "--labels", "neutral,happy,angry,sad", "--output", str(out)])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    from datasets import load_dataset

    ds = load_dataset(str(out), "random")
    rows = [r for split in ds.values() for r in split.remove_columns("audio")]
    assert {r["label"] for r in rows} == {0, 1, 2, 3} and len(rows) == 2 * 2 * 5 * 2  # exc folded into happy, fru out
    names = ds["train"].features["label"].names
    excited = [r for r in rows if r["raw_label"] == "exc"]
    assert excited and {names[r["label"]] for r in excited} == {"happy"}
    assert {r["session"] for r in rows} == {"1", "2"} and {r["mode"] for r in rows} == {"improvised", "scripted"}
    skipped = (out / "skipped.csv").read_text()
    assert "no majority label (xxx in EmoEvaluation)" in skipped and "frustrated" in skipped


def _msp(root: Path, fmt: str) -> Path:
    """Clips of six speakers over the official splits, an X, an Unknown speaker, a label without audio."""
    rows = [("MSP-PODCAST_0001_0001", "X", "Unknown", "Female", "Train"),
            ("MSP-PODCAST_0001_0002", "H", "Unknown", "Unknown", "Test2"),
            ("MSP-PODCAST_0009_0001", "A", "12", "Male", "Train")]  # fmt: skip
    splits = ["Train", "Train", "Development", "Test1", "Test2"]
    for i in range(30):
        rows.append((f"MSP-PODCAST_{100 + i // 5:04d}_{i % 5:04d}", "NHAS"[i % 4], str(i % 6 + 1),
                     "Female" if i % 6 < 3 else "Male", splits[i % 5]))  # fmt: skip
    for name, *_ in rows[:2] + rows[3:]:
        _wav(root / "Audios" / f"{name}.wav")
    fields = ("EmoClass", "SpkrID", "Gender", "Split_Set")
    (root / "Labels").mkdir(parents=True)
    if fmt == "json":
        data = {f"{r[0]}.wav": {**dict(zip(fields, r[1:], strict=True)), "EmoAct": 4.0, "EmoVal": 3.5, "EmoDom": 4.2}
                for r in rows}  # fmt: skip
        (root / "Labels" / "labels_consensus.json").write_text(json.dumps(data))
    else:
        lines = ["FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set"]
        lines += [f"{r[0]}.wav,{r[1]},4.0,3.5,4.2,{r[2]},{r[3]},{r[4]}" for r in rows]
        (root / "Labels" / "labels_consensus.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_msp_podcast_consensus_labels_official_splits_and_what_is_skipped(tmp_path, fmt):
    scan = MORE_CORPORA["msp_podcast"][1](_msp(tmp_path / "MSP-Podcast", fmt))
    assert len(scan.utterances) == 30 and len({u.speaker for u in scan.utterances}) == 6
    u = next(u for u in scan.utterances if u.file == "Audios/MSP-PODCAST_0101_0002.wav")
    assert (u.emotion, u.raw_label, u.speaker, u.gender) == ("sad", "S", "msp_podcast_2", "female")
    assert dict(u.extra) == {"official_split": "validation", "arousal": "4.0", "valence": "3.5", "dominance": "4.2"}
    assert {dict(u.extra)["official_split"] for u in scan.utterances} == {"train", "validation", "test1", "test2"}
    why = {s.file: s.reason for s in scan.skipped}
    assert "no agreement among the annotators" in why["Audios/MSP-PODCAST_0001_0001.wav"]
    assert "no speaker id (SpkrID Unknown" in why["Audios/MSP-PODCAST_0001_0002.wav"]
    assert "labelled in Labels/labels_consensus" in why["MSP-PODCAST_0009_0001.wav"]
    with pytest.raises(CorpusError, match="no Labels/labels_consensus.csv"):
        MORE_CORPORA["msp_podcast"][1](tmp_path / "MSP-Podcast" / "Audios")


def test_emozionalmente_samples_and_users_tables(tmp_path):
    root = tmp_path / "emozionalmente"
    samples = ["file_name,actor,sentence,emotion_expressed"]
    for i, (actor, emotion) in enumerate([(a, e) for a in ("anna", "marco") for e in ("anger", "joy", "neutrality")]):
        _wav(root / "audio" / f"{i}_{actor}.wav")
        samples.append(f"{i}_{actor}.wav,{actor},Il treno parte alle sei,{emotion}")
    samples += ["9_anna.wav,anna,Una frase,boredom", "10_anna.wav,anna,Una frase,sadness"]
    _wav(root / "audio" / "9_anna.wav")
    _wav(root / "audio" / "stray.wav")
    (root / "metadata").mkdir()
    (root / "metadata" / "samples.csv").write_text("\n".join(samples) + "\n")
    (root / "metadata" / "users.csv").write_text("username,gender,age\nanna,female,31\nmarco,male,45\n")
    scan = MORE_CORPORA["emozionalmente"][1](root)
    assert len(scan.utterances) == 6
    u = next(u for u in scan.utterances if u.file == "audio/4_marco.wav")
    assert (u.emotion, u.raw_label, u.speaker, u.gender, u.text) == ("happy", "joy", "emozionalmente_marco", "male",
                                                                       "Il treno parte alle sei")  # fmt: skip
    assert dict(u.extra) == {"age": "45"}
    why = {s.file: s.reason for s in scan.skipped}
    assert "unknown emotion_expressed 'boredom'" in why["audio/9_anna.wav"]
    assert "no line for it" in why["audio/stray.wav"]
    assert "no audio file" in why["audio/10_anna.wav"]


def _mp4(path: Path) -> None:
    wav = path.with_suffix(".wav")
    seed = zlib.crc32(str(path).encode())  # by the whole path: the same dia/utt name in each split is another clip
    write_wav(wav, seconds=0.6, freq=150 + seed % 200, seed=seed)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), "-c:a", "aac", str(path)], check=True)
    wav.unlink()


def test_meld_tables_split_folders_mp4_audio_and_a_build(tmp_path):
    from datasets import load_dataset

    root = tmp_path / "MELD.Raw"
    header = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime"
    speakers = ["Ross", "Rachel", "Joey", "Monica", "Chandler", "Phoebe", "Mr. Heckles"]
    tables = {"train/train_sent_emo.csv": "train/train_splits", "dev_sent_emo.csv": "dev_splits_complete",
              "test_sent_emo.csv": "output_repeated_splits_test"}  # fmt: skip
    for table, folder in tables.items():
        lines = [header]
        for d in range(3):
            for u in range(4):
                spk, emo = speakers[(d * 4 + u) % 7], ["neutral", "joy", "anger", "sadness"][u]
                lines.append(f'{d * 4 + u},"Oh, it’s {spk}!",{spk},{emo},positive,{d},{u},1,{d + 1},0,1')
                prefix = "final_videos_test" if folder.startswith("output") and u == 0 else ""
                if (d, u) != (2, 3):
                    _mp4(root / folder / f"{prefix}dia{d}_utt{u}.mp4")
        (root / table).parent.mkdir(parents=True, exist_ok=True)
        (root / table).write_text("\n".join(lines) + "\n", encoding="utf-8")
    _mp4(root / "dev_splits_complete" / "dia9_utt0.mp4")
    scan = MORE_CORPORA["meld"][1](root)
    assert len(scan.utterances) == 33  # 3 splits x 11 clips; the same dia/utt ids in every split are distinct clips
    u = next(u for u in scan.utterances if u.file == "output_repeated_splits_test/final_videos_testdia1_utt0.mp4")
    assert (u.emotion, u.raw_label, u.speaker, u.key) == ("neutral", "neutral", "meld_Chandler", "test/dia1_utt0")
    assert dict(u.extra)["official_split"] == "test" and u.text == "Oh, it’s Chandler!"
    assert next(u for u in scan.utterances if "Heckles" in u.speaker).speaker == "meld_Mr._Heckles"
    why = {s.file: s.reason for s in scan.skipped}
    assert "no line for it in dev_sent_emo.csv" in why["dev_splits_complete/dia9_utt0.mp4"]
    assert why["validation/dia2_utt3"] == "in dev_sent_emo.csv but no clip"
    build = load_script("dataset_scripts/build.py")
    out = tmp_path / "meld"
    assert build.main(["--corpus", f"meld={root}", "--emobox-folds", "--output", str(out), "--num-proc", "1"]) == 0
    ds = load_dataset(str(out), "emobox_fold1")
    assert [len(ds[s]) for s in ("train", "validation", "test")] == [11, 11, 11]  # MELD's official split
    assert min(ds["test"]["duration"]) > 0.5  # decoded from the mp4s AAC tracks (0.6 s clips)
