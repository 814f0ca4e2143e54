"""The data stage: corpus scanners, the build (scan -> decode -> de-duplicate -> protocols -> blocks -> card),
split rules, loading a built dataset and turning its rows into model inputs. Imports no other stage."""

from hf_ser._exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "hf_ser.data.build": (
            "PROTOCOLS",
            "BuildConfig",
            "BuildError",
            "BuildReport",
            "build_eight_emotions",
            "build_fingerprint",
            "dataset_features",
        ),  # fmt: skip
        "hf_ser.data.layout": ("load_eight_emotions",),
        "hf_ser.data.loading": ("REQUIRED_COLUMNS", "DataError", "load_ser_dataset"),
        "hf_ser.data.protocols": ("random_split", "speaker_disjoint_split", "speaker_folds"),
    },
)
