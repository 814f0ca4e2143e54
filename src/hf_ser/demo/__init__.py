"""Small espeak-ng corpora in the four real layouts, for the demo and the end-to-end tests."""

from hf_ser.demo.synth import EMOTION_PROSODY, DemoConfig, synthesize_demo_corpora

__all__ = ["EMOTION_PROSODY", "DemoConfig", "synthesize_demo_corpora"]
