"""Small espeak-ng corpora in the four real layouts, for the demo and the end-to-end tests; unlabelled espeak-ng
speech (no demo voice) for pretraining the demo backbone."""

from hf_ser.demo.synth import EMOTION_PROSODY, DemoConfig, synthesize_demo_corpora
from hf_ser.demo.unlabelled import UnlabelledConfig, synthesize_unlabelled_speech

__all__ = [
    "EMOTION_PROSODY",
    "DemoConfig",
    "UnlabelledConfig",
    "synthesize_demo_corpora",
    "synthesize_unlabelled_speech",
]
