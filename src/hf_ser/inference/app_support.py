"""What the web demo needs besides the page: loading its model with a message instead of a traceback, and pushing the
app (with its model) to a Hugging Face Space."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

__all__ = ["SPACE_REQUIREMENTS", "load_for_app", "push_space"]

# What a Space installs (its Python image has FFmpeg; hf_ser itself travels as source next to app.py).
SPACE_REQUIREMENTS = """torch
transformers>=5,<6
peft
accelerate
datasets>=5,<6
huggingface_hub
soundfile
soxr
torchcodec
matplotlib
numpy
scipy
tqdm
pyyaml
jinja2
silero-vad>=6.0
onnxruntime
"""


def load_for_app(model: str, *, default: bool):
    """(EmotionPredictor, None), or (None, what to do) when the model cannot be loaded."""
    from hf_ser.inference.predict import EmotionPredictor
    from hf_ser.modeling.loading import ModelLoadError

    if default and not Path(model).is_dir():
        return None, (f"There is no `{model}` yet: run `make demo` (it trains the demo model there), or start the app "
                      "with `--model DIR_OR_HUB_ID`.")  # fmt: skip
    try:
        return EmotionPredictor.from_pretrained(model), None
    except ModelLoadError as err:
        return None, str(err)


def push_space(repo_id: str, model: str, repo_root: Path, *, private: bool = True) -> str:
    """Upload app.py, its requirements, hf_ser's source, the example clips and (a local) model as a Gradio Space."""
    from hf_ser.hub import check_hub_push, upload_folder

    check_hub_push(repo_id, what="push-to-hub")  # offline: one line, before anything is staged
    local = Path(model).expanduser()
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp)
        shutil.copy(repo_root / "app.py", stage / "app.py")
        shutil.copytree(repo_root / "src" / "hf_ser", stage / "src" / "hf_ser",
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
        if (repo_root / "app_examples").is_dir():
            shutil.copytree(repo_root / "app_examples", stage / "app_examples")
        if local.is_dir():
            model_files = [p for p in local.iterdir() if p.is_file() and p.suffix in {".json", ".safetensors", ".md"}]
            if not any(p.name == "config.json" for p in model_files):
                raise ValueError(f"--model {model}: not a checkpoint folder (no config.json)")
            (stage / "model").mkdir()
            for p in model_files:
                shutil.copy(p, stage / "model" / p.name)
        (stage / "requirements.txt").write_text(SPACE_REQUIREMENTS)
        model_line = "" if local.is_dir() else f"\n\nSet the Space variable HF_SER_MODEL={model} to load it."
        (stage / "README.md").write_text(
            "---\ntitle: hf-ser speech emotion recognition\nsdk: gradio\napp_file: app.py\npinned: false\n---\n\n"
            f"Speech emotion recognition with an hf-ser checkpoint ({model}).{model_line}\n"
        )
        return upload_folder(stage, repo_id, repo_type="space", private=private, message="hf-ser app",
                             space_sdk="gradio")  # fmt: skip
