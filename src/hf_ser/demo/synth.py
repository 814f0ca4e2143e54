"""espeak-ng demo corpora: RAVDESS, CREMA-D, TESS and SAVEE layouts, file-name grammars and native sample rates,
with the emotion carried by prosody (rate, pitch, pitch range, loudness) and varied per speaker and utterance."""

from __future__ import annotations

import csv
import io
import logging
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from tqdm.auto import tqdm

from hf_ser.data.corpora.crema_d import CREMA_D_FEMALE_ACTORS, SENTENCES
from hf_ser.labels import CREMA_D_EMOTIONS, EMOTIONS, RAVDESS_EMOTIONS, SAVEE_EMOTIONS

__all__ = [
    "DEFAULT_VOICES",
    "EMOTION_PROSODY",
    "FEMALE_VARIANTS",
    "MALE_VARIANTS",
    "DemoConfig",
    "apply_voice_quality",
    "espeak",
    "prepare_marked_folder",
    "synthesize_demo_corpora",
    "write_take",
]

logger = logging.getLogger(__name__)

# The one table that makes the task learnable: how each emotion moves prosody and voice quality away from the
# speaker's own.
#   rate: % of the speaker's speed; pitch: % shift of the base pitch; range: % of normal pitch range;
#   volume: dB (erased by the feature extractor's per-clip normalisation, kept for realism); gap: extra pause
#   between words (10 ms units); tilt: spectral tilt, > 0 brighter/harsher (pre-emphasis), < 0 softer (low-pass);
#   tremolo: depth of a 6-8 Hz amplitude wobble; breath: breath-noise level relative to the speech RMS.
# Absolute pitch says little across voices (it is mostly the speaker's), so rate, range and voice quality carry
# most of the signal, as in real acted speech.
EMOTION_PROSODY: dict[str, dict[str, float]] = {
    "neutral":  {"rate": 100, "pitch": 0,   "range": 100, "volume": 0,  "gap": 0, "tilt": 0.0,  "tremolo": 0.0,  "breath": 0.0},
    "calm":     {"rate": 82,  "pitch": -8,  "range": 55,  "volume": -5, "gap": 3, "tilt": -0.6, "tremolo": 0.0,  "breath": 0.05},
    "happy":    {"rate": 115, "pitch": 22,  "range": 165, "volume": 3,  "gap": 0, "tilt": 0.45, "tremolo": 0.0,  "breath": 0.0},
    "sad":      {"rate": 72,  "pitch": -18, "range": 40,  "volume": -7, "gap": 5, "tilt": -0.8, "tremolo": 0.1,  "breath": 0.25},
    "angry":    {"rate": 118, "pitch": 8,   "range": 140, "volume": 8,  "gap": 0, "tilt": 0.9,  "tremolo": 0.0,  "breath": 0.0},
    "fear":     {"rate": 132, "pitch": 38,  "range": 70,  "volume": -2, "gap": 1, "tilt": 0.0,  "tremolo": 0.45, "breath": 0.1},
    "disgust":  {"rate": 80,  "pitch": -12, "range": 125, "volume": 2,  "gap": 2, "tilt": -0.3, "tremolo": 0.25, "breath": 0.0},
    "surprise": {"rate": 90,  "pitch": 48,  "range": 240, "volume": 4,  "gap": 2, "tilt": 0.0,  "tremolo": 0.0,  "breath": 0.15},
    # not one of the paper's eight: the own-corpus demo's EmoDB-like set has it (hf_ser.demo.own)
    "boredom":  {"rate": 78,  "pitch": -10, "range": 25,  "volume": -4, "gap": 4, "tilt": -0.4, "tremolo": 0.0,  "breath": 0.12},
}  # fmt: skip
# Per-utterance spread (standard deviations) around the table, so cells overlap and the task is not trivial.
JITTER = {"rate": 7.0, "pitch": 7.0, "range": 18.0, "volume": 1.5, "tilt": 0.15, "tremolo": 0.06, "breath": 0.04}

DEFAULT_VOICES = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)
MALE_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7")
FEMALE_VARIANTS = ("f1", "f2", "f3", "f4", "f5")
ESPEAK_RATE = 22_050
MARKER = ".hf-ser-demo-corpora"  # --overwrite replaces only a folder holding it
TESS_WORDS = (
    "back", "bar", "base", "bath", "bean", "beg", "bite", "boat", "bone", "book", "bought", "burn", "cab", "calm",
    "came", "cause", "chain", "chair", "chalk", "chat", "check", "cheek", "chief", "choice", "cool", "dab", "date",
    "dead", "death", "deep", "dime", "dip", "ditch", "dodge", "dog", "doll", "door", "fail", "fall", "far",
)  # fmt: skip
SAVEE_SENTENCES = (
    "She had your dark suit in greasy wash water all year.",
    "Don't ask me to carry an oily rag like that.",
    "Will you tell me why?",
    "Who authorized the unlimited expense account?",
    "Destroy every file related to my audits.",
    "The small boy put the worm on the hook.",
    "Those musicians harmonize marvelously.",
    "Why else would Danny allow others to go?",
    "Clear pronunciation is appreciated.",
    "The dog ate the whole sandwich.",
)
# TESS's popular copy names its folders inconsistently; the demo copies that mess.
_TESS_FOLDER = {
    "angry": "{s}_angry", "disgust": "{s}_disgust", "fear": "{s}_Fear", "happy": "{s}_happy",
    "neutral": "{s}_neutral", "ps": "{s}_Pleasant_surprise", "sad": "{s}_Sad",
}  # fmt: skip


@dataclass
class DemoConfig:
    out: str
    seed: int = 0
    scale: int = 2  # files per speaker x emotion cell
    voices: tuple[str, ...] = DEFAULT_VOICES
    # Many voices, few clips each: generalising to new speakers needs voice variety more than clips per voice.
    ravdess_actors: int = 24
    crema_d_actors: int = 40
    num_threads: int = 2
    overwrite: bool = False
    jitter: dict[str, float] = field(default_factory=lambda: dict(JITTER))


@dataclass(frozen=True)
class _Job:
    path: Path
    text: str
    emotion: str
    voice: str
    sampling_rate: int
    speaker_rate: float
    speaker_pitch: float
    strength: float  # 1.0 normal; > 1 exaggerates the emotion (RAVDESS 'strong', CREMA-D 'HI')
    seed: int


class _VoicePool:
    """Distinct voice+variant per speaker across all four corpora, so held-out speakers are new voices."""

    def __init__(self, voices: tuple[str, ...], rng: np.random.Generator):
        self._pools = {
            g: [f"{v}+{var}" for v in voices for var in variants]
            for g, variants in (("male", MALE_VARIANTS), ("female", FEMALE_VARIANTS))
        }
        for g in self._pools:
            self._pools[g] = [str(x) for x in rng.permutation(self._pools[g])]
        self._rng = rng

    def take(self, gender: str) -> tuple[str, float, float]:
        if not self._pools[gender]:
            raise ValueError(f"not enough distinct {gender} voices; pass more --voices")
        voice = self._pools[gender].pop()
        return voice, float(self._rng.normal(100, 6)), float(self._rng.normal(0, 8))


def _ssml(job: _Job, rng: np.random.Generator, jitter: dict[str, float]) -> tuple[str, int]:
    p = EMOTION_PROSODY[job.emotion]
    k = job.strength

    def dev(name: str, neutral: float) -> float:
        return neutral + (p[name] - neutral) * k + rng.normal(0, jitter[name])

    rate = max(40.0, dev("rate", 100) * job.speaker_rate / 100)
    pitch = dev("pitch", 0) + job.speaker_pitch
    rng_pct = max(10.0, dev("range", 100))
    text = job.text.replace("&", "and").replace("<", "").replace(">", "")
    ssml = f'<speak><prosody rate="{rate:.0f}%" pitch="{pitch:+.0f}%" range="{rng_pct:.0f}%">{text}</prosody></speak>'
    return ssml, int(p["gap"] * k)


_QUALITY_LIMITS = {"tilt": (-0.95, 0.95), "tremolo": (0.0, 0.9), "breath": (0.0, 0.6)}


def _voice_quality(audio: np.ndarray, sr: int, job: _Job, rng: np.random.Generator, jitter: dict[str, float]):
    """Spectral tilt, tremolo and breath noise of the emotion (scaled by the utterance's strength, jittered)."""
    p, k = EMOTION_PROSODY[job.emotion], job.strength

    def draw(name: str) -> float:
        if name == "volume_db":
            return _volume_db(job, rng, jitter)
        return float(np.clip(p[name] * k + rng.normal(0, jitter[name]), *_QUALITY_LIMITS[name]))

    return apply_voice_quality(audio, sr, draw, rng)


def apply_voice_quality(audio: np.ndarray, sr: int, draw, rng: np.random.Generator) -> np.ndarray:
    """Spectral tilt (> 0 brighter, < 0 softer), a 6-8 Hz amplitude tremolo, breath noise relative to the speech
    RMS, then peak-normalise to ``volume_db`` below 0.9 full scale. ``draw(name)`` gives each of tilt, tremolo,
    breath and volume_db when it is needed (so a caller's random draws keep their order)."""
    from scipy.signal import lfilter

    tilt = draw("tilt")
    if tilt > 0:
        audio = lfilter([1.0, -0.97 * tilt], [1.0], audio)
    elif tilt < 0:
        b = -0.9 * tilt
        audio = lfilter([1.0 - b], [1.0, -b], audio)
    depth = draw("tremolo")
    if depth > 0:
        t = np.arange(len(audio)) / sr
        audio = audio * (1 - depth / 2 + depth / 2 * np.sin(2 * np.pi * rng.uniform(6, 8) * t))
    breath = draw("breath")
    rms = float(np.sqrt(np.mean(audio**2)) or 1e-4)
    if breath > 0:
        audio = audio + breath * rms * lfilter([1.0], [1.0, -0.6], rng.normal(size=len(audio)))
    return (audio / max(1e-6, np.abs(audio).max()) * 0.9 * 10 ** (draw("volume_db") / 20)).astype(np.float32)


def _volume_db(job: _Job, rng: np.random.Generator, jitter: dict[str, float]) -> float:
    return -6.0 + EMOTION_PROSODY[job.emotion]["volume"] * job.strength + rng.normal(0, jitter["volume"])


def espeak(ssml: str, voice: str, gap: int = 0) -> tuple[np.ndarray, int]:
    """(audio, rate) that espeak-ng speaks for SSML ``ssml`` in ``voice`` (voice+variant), ``gap`` x 10 ms between
    words."""
    proc = subprocess.run(
        ["espeak-ng", "-m", "-v", voice, "-g", str(gap), "--stdout"],
        input=ssml.encode(),
        capture_output=True,
        check=True,
    )
    return sf.read(io.BytesIO(proc.stdout), dtype="float32")


def _render(job: _Job, jitter: dict[str, float]) -> None:
    rng = np.random.default_rng(job.seed)
    ssml, gap = _ssml(job, rng, jitter)
    audio, sr = espeak(ssml, job.voice, gap)
    if job.sampling_rate != sr:
        audio = soxr.resample(audio, sr, job.sampling_rate)
    audio = _voice_quality(audio, job.sampling_rate, job, rng, jitter)
    write_take(job.path, audio, job.sampling_rate, rng, max_lead=0.3)


def write_take(path: Path, audio: np.ndarray, sr: int, rng: np.random.Generator, *, max_lead: float) -> float:
    """Add lead-in silence (0.05 s to ``max_lead``, half of it after) and a little room noise, as in real
    recordings, then write 16-bit PCM; returns the seconds written."""
    lead = np.zeros(int(rng.uniform(0.05, max_lead) * sr), dtype=np.float32)
    audio = np.concatenate([lead, audio, lead[: len(lead) // 2]])
    audio = audio + rng.normal(0, 10 ** (-55 / 20), size=audio.shape).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.clip(audio, -1, 1), sr, subtype="PCM_16")
    return len(audio) / sr


def _ravdess_jobs(root: Path, cfg: DemoConfig, voices: _VoicePool, rng) -> list[_Job]:
    jobs = []
    statements = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
    for actor in range(1, cfg.ravdess_actors + 1):
        voice, spk_rate, spk_pitch = voices.take("male" if actor % 2 else "female")
        for code, emotion in RAVDESS_EMOTIONS.items():
            intensities = ["01"] if emotion == "neutral" else ["01", "02"]
            combos = [(i, s, r) for i in intensities for s in ("01", "02") for r in ("01", "02")]
            for inten, stmt, rep in combos[: cfg.scale]:
                name = f"03-01-{code}-{inten}-{stmt}-{rep}-{actor:02d}.wav"
                jobs.append(
                    _Job(root / f"Actor_{actor:02d}" / name, statements[stmt], emotion, voice, 48_000,
                         spk_rate, spk_pitch, 1.4 if inten == "02" else 1.0, int(rng.integers(2**31)))
                )  # fmt: skip
    return jobs


def _crema_d_jobs(root: Path, cfg: DemoConfig, voices: _VoicePool, rng) -> list[_Job]:
    jobs, rows = [], []
    sentences = list(SENTENCES)
    for actor in range(1001, 1001 + cfg.crema_d_actors):
        gender = "female" if actor in CREMA_D_FEMALE_ACTORS else "male"
        rows.append({"ActorID": actor, "Age": 30, "Sex": gender.capitalize(), "Race": "", "Ethnicity": ""})
        voice, spk_rate, spk_pitch = voices.take(gender)
        for code in CREMA_D_EMOTIONS:
            emotion = CREMA_D_EMOTIONS[code]
            for k in range(cfg.scale):
                sentence = sentences[(actor + k) % len(sentences)]
                level = ("LO", "MD", "HI")[k % 3] if sentence == "IEO" else "XX"
                level = "XX" if code == "NEU" else level
                jobs.append(
                    _Job(root / "AudioWAV" / f"{actor}_{sentence}_{code}_{level}.wav", SENTENCES[sentence], emotion,
                         voice, 16_000, spk_rate, spk_pitch, 1.4 if level == "HI" else 1.0, int(rng.integers(2**31)))
                )  # fmt: skip
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "VideoDemographics.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return jobs


def _tess_jobs(root: Path, cfg: DemoConfig, voices: _VoicePool, rng) -> list[_Job]:
    jobs = []
    base = root / "TESS Toronto emotional speech set data"
    codes = {"angry": "angry", "disgust": "disgust", "fear": "fear", "happy": "happy", "neutral": "neutral",
             "ps": "surprise", "sad": "sad"}  # fmt: skip
    n_words = min(len(TESS_WORDS), cfg.scale * 4)  # two speakers only: more words each
    for speaker in ("OAF", "YAF"):
        voice, spk_rate, spk_pitch = voices.take("female")
        for code, emotion in codes.items():
            folder = base / _TESS_FOLDER[code].format(s=speaker)
            for word in TESS_WORDS[:n_words]:
                jobs.append(
                    _Job(folder / f"{speaker}_{word}_{code}.wav", f"Say the word {word}", emotion, voice, 24_414,
                         spk_rate, spk_pitch, 1.0, int(rng.integers(2**31)))
                )  # fmt: skip
    return jobs


def _savee_jobs(root: Path, cfg: DemoConfig, voices: _VoicePool, rng) -> list[_Job]:
    jobs = []
    for speaker in ("DC", "JE", "JK", "KL"):
        voice, spk_rate, spk_pitch = voices.take("male")
        for code, emotion in SAVEE_EMOTIONS.items():
            for n in range(1, (2 * cfg.scale if code == "n" else cfg.scale) + 1):
                text = SAVEE_SENTENCES[(n - 1) % len(SAVEE_SENTENCES)]
                jobs.append(
                    _Job(root / "AudioData" / speaker / f"{code}{n:02d}.wav", text, emotion, voice, 44_100,
                         spk_rate, spk_pitch, 1.0, int(rng.integers(2**31)))
                )  # fmt: skip
    return jobs


def prepare_marked_folder(folder: str, marker: str, overwrite: bool, what: str, script: str) -> Path:
    """An empty ``folder`` holding ``marker``. A non-empty one is replaced only with ``overwrite`` and only when
    it holds ``marker`` (a synthesiser never deletes a folder it did not write)."""
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} is a file, not a folder")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"--out {out} is not empty; pass --overwrite")
        if not (out / marker).is_file():
            raise FileExistsError(
                f"--out {out} holds files this script did not write (no {marker}); --overwrite only replaces "
                f"{what} it synthesised"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / marker).write_text(f"{what.capitalize()} synthesised by hf-ser ({script}).\n")
    return out


def synthesize_demo_corpora(cfg: DemoConfig) -> dict[str, int]:
    """Write ``cfg.out/{ravdess,crema_d,tess,savee}``; returns files written per corpus."""
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed: `apt-get install espeak-ng` (make install does it)")
    if cfg.scale < 1:
        raise ValueError(f"--scale must be >= 1, got {cfg.scale}")
    if not 1 <= cfg.ravdess_actors <= 24:
        raise ValueError(f"--ravdess-actors must be in 1-24 (RAVDESS's actors), got {cfg.ravdess_actors}")
    if not 1 <= cfg.crema_d_actors <= 91:
        raise ValueError(f"--crema-d-actors must be in 1-91 (CREMA-D's actors), got {cfg.crema_d_actors}")
    out = prepare_marked_folder(cfg.out, MARKER, cfg.overwrite, "demo corpora",
                                "dataset_scripts/synthesize_demo_corpora.py")  # fmt: skip
    rng = np.random.default_rng(cfg.seed)
    voices = _VoicePool(tuple(cfg.voices), rng)
    jobs = {
        "ravdess": _ravdess_jobs(out / "ravdess", cfg, voices, rng),
        "crema_d": _crema_d_jobs(out / "crema_d", cfg, voices, rng),
        "tess": _tess_jobs(out / "tess", cfg, voices, rng),
        "savee": _savee_jobs(out / "savee", cfg, voices, rng),
    }
    every = [j for js in jobs.values() for j in js]
    with ThreadPoolExecutor(cfg.num_threads) as pool:
        list(tqdm(pool.map(lambda j: _render(j, cfg.jitter), every), total=len(every), desc="espeak-ng", unit="file"))
    return {k: len(v) for k, v in jobs.items()}


assert set(EMOTIONS) <= set(EMOTION_PROSODY)
