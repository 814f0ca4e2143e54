"""Corpora whose labels live in label files, not in the file names: IEMOCAP (``EmoEvaluation/*.txt``) and ESD
(``<speaker>/<speaker>.txt``). The audio files are found and checked as the other scanners do (empty files, Git LFS
pointers, the lossless copy of two); a label with no audio, audio with no label, and a file whose folder disagrees
with its label file are each skipped with the reason."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

from hf_ser.data.corpora.base import (
    ANY_AUDIO,
    CorpusError,
    ScanResult,
    Skipped,
    UnparseableName,
    Utterance,
    corpus_folder,
    scan_tree,
)
from hf_ser.data.corpora.catalogue import CorpusInfo

__all__ = ["ESD", "IEMOCAP", "scan_esd", "scan_iemocap"]


# ---------------------------------------------------------------------------------------------------- IEMOCAP
IEMOCAP = CorpusInfo(
    name="iemocap",
    display="IEMOCAP",
    language="en",
    licence="other",
    licence_note="released by USC SAIL under its own licence agreement, for research; each user must request it",
    homepage="https://sail.usc.edu/iemocap/",
    citation="Busso C, Bulut M, Lee CC, Kazemzadeh A, Mower E, Kim S, Chang JN, Lee S, Narayanan SS (2008). "
    "IEMOCAP: interactive emotional dyadic motion capture database. Language Resources and Evaluation 42(4): "
    "335-359.",
    grammar="Session<n>/sentences/wav/<dialog>/<utterance>.wav, labels from Session<n>/dialog/EmoEvaluation/"
    "<dialog>.txt, text from Session<n>/dialog/transcriptions/<dialog>.txt",
    labels={
        "ang": "angry",
        "dis": "disgust",
        "exc": "excited",
        "fea": "fear",
        "fru": "frustrated",
        "hap": "happy",
        "neu": "neutral",
        "oth": "other",
        "sad": "sad",
        "sur": "surprise",
    },  # fmt: skip
    speakers=10,
    notes=(
        "Labels are the consensus category of each EmoEvaluation line; `xxx` (no majority among the annotators) "
        "is skipped with that reason. Excited is kept apart from happy: `--label-map iemocap4` merges them as the "
        "usual 4-class setup (and EmoBox's label_map) does.",
        "Speakers are one woman and one man per session (`iemocap_Ses01F`, `iemocap_Ses01M`: the letter before the "
        "utterance number says who speaks); `session`, `mode` (improvised/scripted) and the annotators' mean "
        "`valence`, `arousal`, `dominance` (1-5) are extra columns.",
        "EmoBox leaves one session out per fold (5 folds); a build of IEMOCAP alone with `--folds 5` groups by "
        "speaker, not session, so the two are not the same folds.",
    ),  # fmt: skip
)
_IEMOCAP_LINE = re.compile(r"^\[(\d+(?:\.\d+)?) - (\d+(?:\.\d+)?)\]\s+(Ses\d\d[FM]_\S+)\s+(\w+)\s+"
                           r"\[(\d+(?:\.\d+)?), (\d+(?:\.\d+)?), (\d+(?:\.\d+)?)\]")  # fmt: skip
_IEMOCAP_TEXT = re.compile(r"^(Ses\d\d[FM]_\S+) \[[\d.]+-[\d.]+\]: ?(.*)$")
_IEMOCAP_UTT = re.compile(r"^Ses(\d\d)[FM]_(impro|script)\w*_([FM])\d+$")


def _sessions(root: Path) -> list[Path]:
    for base in (root, root / "IEMOCAP_full_release"):
        found = sorted(p for p in base.glob("Session[1-5]") if p.is_dir())
        if found:
            return found
    return []


def _read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


def scan_iemocap(root: str | os.PathLike) -> ScanResult:
    root_path = corpus_folder(root, "IEMOCAP")
    sessions = _sessions(root_path)
    if not sessions:
        raise CorpusError(f"IEMOCAP: no Session1-Session5 folders in {root_path} (nor in its IEMOCAP_full_release/)")
    labels: dict[str, tuple[str, tuple[str, str, str]]] = {}
    texts: dict[str, str] = {}
    result = ScanResult(corpus="iemocap", root=str(root_path))
    for session in sessions:
        for f in sorted((session / "dialog" / "EmoEvaluation").glob("*.txt")):
            for line in _read_lines(f):
                if m := _IEMOCAP_LINE.match(line):
                    labels[m.group(3)] = (m.group(4), m.group(5, 6, 7))
        for f in sorted((session / "dialog" / "transcriptions").glob("*.txt")):
            for line in _read_lines(f):
                if m := _IEMOCAP_TEXT.match(line.strip()):
                    texts[m.group(1)] = m.group(2).strip()
    if not labels:
        raise CorpusError(f"IEMOCAP: no label lines in {root_path}/Session*/dialog/EmoEvaluation/*.txt")

    def parse(path: Path, _walked: Path) -> Utterance:
        utt = path.stem
        m = _IEMOCAP_UTT.match(utt)
        if not m:
            raise UnparseableName("not an IEMOCAP utterance name (Ses01F_impro01_F000)")
        if utt not in labels:
            raise UnparseableName("no line for it in its session's EmoEvaluation files")
        code, (val, act, dom) = labels[utt]
        if code == "xxx":
            raise UnparseableName("no majority label (xxx in EmoEvaluation)")
        if code not in IEMOCAP.labels:
            raise UnparseableName(f"unknown category {code} (one of {', '.join(IEMOCAP.labels)}, xxx)")
        session, mode, who = m.groups()
        u = IEMOCAP.utterance(path, root_path, code, f"Ses{session}{who}", "female" if who == "F" else "male",
                              text=texts.get(utt))  # fmt: skip
        extra = (("session", str(int(session))), ("mode", "improvised" if mode == "impro" else "scripted"),
                 ("valence", val), ("arousal", act), ("dominance", dom))  # fmt: skip
        return replace(u, extra=extra)

    for session in sessions:
        wav = session / "sentences" / "wav"
        if not wav.is_dir():
            result.skipped.append(Skipped("iemocap", wav.relative_to(root_path).as_posix(), "folder missing"))
            continue
        try:
            part = scan_tree("iemocap", wav, parse, display_name="IEMOCAP", extensions=ANY_AUDIO)
        except CorpusError as err:
            result.skipped.append(Skipped("iemocap", wav.relative_to(root_path).as_posix(), str(err)))
            continue
        prefix = wav.relative_to(root_path).as_posix()
        result.utterances += part.utterances
        result.skipped += [replace(s, file=f"{prefix}/{s.file}") for s in part.skipped]
        result.ignored_non_audio += part.ignored_non_audio
    found = {Path(u.file).stem for u in result.utterances} | {Path(s.file).stem for s in result.skipped}
    for utt, (code, _) in sorted(labels.items()):
        if utt not in found:
            result.skipped.append(Skipped("iemocap", utt, f"labelled {code} in EmoEvaluation but no audio file"))
    if not result.utterances:
        raise CorpusError(f"IEMOCAP: no labelled utterance audio under {root_path}/Session*/sentences/wav")
    return result


# -------------------------------------------------------------------------------------------------------- ESD
ESD = CorpusInfo(
    name="esd",
    display="ESD",
    language="mul",
    licence="other",
    licence_note="released by its authors for research and non-commercial use under their licence agreement",
    homepage="https://hltsingapore.github.io/ESD/",
    citation="Zhou K, Sisman B, Liu R, Li H (2021). Seen and unseen emotional style transfer for voice conversion "
    "with a new emotional speech dataset. Proc. ICASSP 2021, 920-924.",
    grammar="<speaker>/<Emotion>/[train|evaluation|test/]<speaker>_<number>.wav, labels and text from "
    "<speaker>/<speaker>.txt (0001-0010 Mandarin, 0011-0020 English)",
    labels={"Angry": "angry", "Happy": "happy", "Neutral": "neutral", "Sad": "sad", "Surprise": "surprise"},
    speakers=20,
    notes=(
        "Mandarin speakers' label files name the emotion in Chinese (生气 angry, 快乐 happy, 中立 neutral, 伤心 sad, "
        "惊喜 surprise); `raw_label` is the emotion folder's English name either way.",
        "The speakers' genders are not given per speaker id in the release: gender is 'unknown'.",
        "Where the emotion folders hold train/evaluation/test subfolders, that split is the `official_split` "
        "column; the configs do not use it.",
    ),  # fmt: skip
)
_ESD_WORDS = {"生气": "Angry", "快乐": "Happy", "中立": "Neutral", "伤心": "Sad", "惊喜": "Surprise",
              **{k.lower(): k for k in ("Angry", "Happy", "Neutral", "Sad", "Surprise")}}  # fmt: skip
_ESD_NAME = re.compile(r"^(\d{4})_(\d{6})$")
_ESD_SPLITS = {"train": "train", "evaluation": "validation", "test": "test"}


def scan_esd(root: str | os.PathLike) -> ScanResult:
    root_path = corpus_folder(root, "ESD")
    labels: dict[str, tuple[str, str]] = {}  # utterance -> (English emotion, text)
    for f in sorted(root_path.glob("*/*.txt")) + sorted(root_path.glob("*/*/*.txt")):
        if not re.fullmatch(r"\d{4}", f.stem) or f.parent.name != f.stem:
            continue
        raw = f.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:  # copies re-saved on a Chinese-locale Windows machine
            text = raw.decode("gb18030", errors="replace")
        for line in text.splitlines():
            parts = [p.strip() for p in line.split("\t")]
            if len(parts) >= 3 and _ESD_NAME.match(parts[0]):
                labels[parts[0]] = (_ESD_WORDS.get(parts[-1], _ESD_WORDS.get(parts[-1].lower(), parts[-1])),
                                    parts[1])  # fmt: skip
    if not labels:
        raise CorpusError(f"ESD: no label files (<speaker>/<speaker>.txt, e.g. 0001/0001.txt) in {root_path}")

    def parse(path: Path, root: Path) -> Utterance:
        m = _ESD_NAME.match(path.stem)
        if not m:
            raise UnparseableName("not an ESD name (<speaker>_<number>, e.g. 0001_000351)")
        speaker = m.group(1)
        if path.stem not in labels:
            raise UnparseableName(f"no line for it in {speaker}/{speaker}.txt")
        code, text = labels[path.stem]
        if code not in ESD.labels:
            raise UnparseableName(f"unknown emotion {code!r} in {speaker}/{speaker}.txt")
        parents = [p.name for p in path.relative_to(root).parents][:-1]
        folder = next((p for p in parents if p.capitalize() in ESD.labels), None)
        if folder is not None and folder.capitalize() != code:
            raise UnparseableName(f"in emotion folder {folder} but labelled {code} in {speaker}/{speaker}.txt")
        split = next((_ESD_SPLITS[p.lower()] for p in parents if p.lower() in _ESD_SPLITS), None)
        u = ESD.utterance(path, root, code, speaker, "unknown", text=text)
        language = "zh" if int(speaker) <= 10 else "en"
        return replace(u, language=language, extra=(("official_split", split),) if split else ())

    return scan_tree("esd", root_path, parse, display_name="ESD", extensions=ANY_AUDIO)
