"""Tiny random-init copies of the checkpoints people fine-tune and serve, one row per supported architecture.

Each keeps what makes its real checkpoint hard: the class its config names, the config fields that change what
training and inference do (LayerDrop, the weighted layer sum, SpecAugment, stable layer norm, the conv encoder's
norm, dropout), the real ``id2label`` in its order, and the feature extractor's settings. Only the sizes are small
(hidden 32, 4 layers), so a test costs seconds. Facts from the real configs are marked in ``source``; a setting
that could not be checked on the real checkpoint and is set to exercise a hazard says so.

The README's list of supported architectures is this table (``test_readme_lists_exactly_the_tested_architectures``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

SUPERB_ER = ("neu", "hap", "ang", "sad")

_SMALL = dict(hidden_size=32, num_hidden_layers=4, num_attention_heads=4, intermediate_size=64)
_CONV = dict(conv_dim=(32,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4)
# The wav2vec2 family's pretraining-era regularisation, as the real configs ship it.
_W2V_TRAINING = dict(hidden_dropout=0.1, attention_dropout=0.1, activation_dropout=0.1, feat_proj_dropout=0.1,
                     final_dropout=0.1, layerdrop=0.1, apply_spec_augment=True, mask_time_prob=0.05,
                     mask_time_length=10)  # fmt: skip
_LARGE = dict(feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True, feat_extract_activation="gelu")
_BASE = dict(feat_extract_norm="group", do_stable_layer_norm=False, conv_bias=False)


@dataclass(frozen=True)
class TinyCheckpoint:
    name: str  # the Hub id it mirrors
    architecture: str  # the config's `architectures[0]`
    model_type: str
    labels: tuple[str, ...] | None  # its id2label in index order; None for a headless backbone
    config: dict = field(default_factory=dict)
    feature_extractor: dict = field(default_factory=dict)
    source: str = ""

    @property
    def id(self) -> str:
        return self.name.split("/")[-1]

    def build(self, folder: Path, seed: int = 0) -> Path:
        """Save the tiny model and its feature extractor to ``folder`` (a from_pretrained folder)."""
        import transformers

        config_cls = transformers.CONFIG_MAPPING[self.model_type]
        kwargs = dict(self.config)
        if self.labels is not None:
            kwargs.update(num_labels=len(self.labels), id2label=dict(enumerate(self.labels)),
                          label2id={x: i for i, x in enumerate(self.labels)})  # fmt: skip
        config = config_cls(architectures=[self.architecture], **kwargs)
        torch.manual_seed(seed)
        model = getattr(transformers, self.architecture)(config)
        folder = Path(folder)
        model.save_pretrained(folder)
        self.make_feature_extractor().save_pretrained(folder)
        return folder

    def make_feature_extractor(self):
        import transformers

        fe = dict(self.feature_extractor)
        return getattr(transformers, fe.pop("class"))(**fe)

    @property
    def fixed_window(self) -> bool:
        return self.feature_extractor["class"] == "WhisperFeatureExtractor"


_W2V_FE = dict(feature_size=1, sampling_rate=16_000, padding_value=0.0)

CHECKPOINTS = (
    TinyCheckpoint(
        "superb/hubert-large-superb-er", "HubertForSequenceClassification", "hubert", SUPERB_ER,
        dict(**_SMALL, **_CONV, **_LARGE, **_W2V_TRAINING, use_weighted_layer_sum=True, classifier_proj_size=16),
        dict(**_W2V_FE, **{"class": "Wav2Vec2FeatureExtractor"}, do_normalize=True, return_attention_mask=True),
        "the paper's base: config.json (layerdrop 0.1, use_weighted_layer_sum, stable layer norm, 4 labels)",
    ),
    TinyCheckpoint(
        "facebook/hubert-large-ll60k", "HubertModel", "hubert", None,
        dict(**_SMALL, **_CONV, **_LARGE, **_W2V_TRAINING),
        dict(**_W2V_FE, **{"class": "Wav2Vec2FeatureExtractor"}, do_normalize=True, return_attention_mask=True),
        "headless pretrained backbone (HubertModel): a head is added for fine-tuning",
    ),
    TinyCheckpoint(
        "superb/hubert-base-superb-er", "HubertForSequenceClassification", "hubert", SUPERB_ER,
        dict(**_SMALL, **_CONV, **_BASE, **_W2V_TRAINING, use_weighted_layer_sum=True, classifier_proj_size=16),
        dict(**_W2V_FE, **{"class": "Wav2Vec2FeatureExtractor"}, do_normalize=False, return_attention_mask=False),
        "hubert-base shape (group-norm conv encoder, no attention mask); its head settings as the large one's (U)",
    ),
    TinyCheckpoint(
        "ehcalabres/wav2vec2-lg-xlsr-en-speech-emotion-recognition", "Wav2Vec2ForSequenceClassification", "wav2vec2",
        ("angry", "calm", "disgust", "fearful", "happy", "neutral", "sad", "surprised"),
        dict(**_SMALL, **_CONV, **_LARGE, **_W2V_TRAINING, classifier_proj_size=16),
        dict(**_W2V_FE, **{"class": "Wav2Vec2FeatureExtractor"}, do_normalize=True, return_attention_mask=True),
        "xlsr-53 large shape; id2label from its config.json (fearful, surprised)",
    ),
    TinyCheckpoint(
        "Aniemore/wavlm-emotion-russian-resd", "WavLMForSequenceClassification", "wavlm",
        ("anger", "disgust", "enthusiasm", "fear", "happiness", "neutral", "sadness"),
        dict(**_SMALL, **_CONV, **_LARGE, **_W2V_TRAINING, use_weighted_layer_sum=True, classifier_proj_size=16,
             num_buckets=32, max_bucket_distance=80),  # fmt: skip
        dict(**_W2V_FE, **{"class": "Wav2Vec2FeatureExtractor"}, do_normalize=True, return_attention_mask=True),
        "WavLM (no SDPA kernel; relative position bias in layer 0); labels as its config (large shape and weighted "
        "sum U, set to exercise them)",
    ),
    TinyCheckpoint(
        "firdhokk/speech-emotion-recognition-with-openai-whisper-large-v3", "WhisperForAudioClassification",
        "whisper", ("angry", "disgust", "fearful", "happy", "neutral", "sad", "surprised"),
        dict(d_model=32, encoder_layers=4, encoder_attention_heads=4, encoder_ffn_dim=64, decoder_layers=1,
             decoder_attention_heads=4, decoder_ffn_dim=64, num_mel_bins=128, max_source_positions=1500,
             classifier_proj_size=16, use_weighted_layer_sum=True, encoder_layerdrop=0.1, dropout=0.1),  # fmt: skip
        {"class": "WhisperFeatureExtractor", "feature_size": 128, "sampling_rate": 16_000},
        "Whisper-large-v3 encoder classifier: 128 mel bins, 30 s window (3000 frames), input_features; labels as "
        "its config; weighted sum and encoder LayerDrop U, set to exercise them",
    ),
)  # fmt: skip
