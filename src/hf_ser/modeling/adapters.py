"""A LoRA run's ``adapter/`` folder, written so that PEFT and transformers load it from any working directory.

PEFT records the base model as the string it was loaded from, so an adapter trained from ``models/tiny-hubert-ssl``
only loads inside the checkout, and from anywhere else fails with a misleading "couldn't connect to huggingface.co".
Here the base is recorded as its Hub id when it has one (a Hub id as given, or a folder of the Hub cache:
``models--org--name/snapshots/<commit>``, with that commit as ``revision``), else as an absolute path, and the
card says so. The folder also gets the feature extractor (``preprocessor_config.json``) and a card whose code
passes ``id2label``/``label2id``: the head is one of PEFT's ``modules_to_save``, and the base's own config gives it
another size (or ``LABEL_n`` names) unless the labels are passed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BaseOrigin", "base_origin", "load_snippet", "save_adapter"]

_HUB_CACHE = re.compile(r"models--(?P<org>[^/]+?)--(?P<name>[^/]+)/snapshots/(?P<commit>[0-9a-f]{40})/?$")


@dataclass(frozen=True)
class BaseOrigin:
    """Where an adapter's base model comes from: ``ref`` for ``base_model_name_or_path``, ``hub_id`` when it has one."""

    ref: str
    hub_id: str | None = None
    revision: str | None = None


def base_origin(name_or_path: str) -> BaseOrigin:
    """The Hub id (and commit) behind ``name_or_path`` where there is one, else its absolute path."""
    from hf_ser.hub import looks_like_hub_id

    local = Path(name_or_path).expanduser()
    if not local.exists():
        if looks_like_hub_id(name_or_path) and name_or_path.count("/") == 1:
            return BaseOrigin(ref=name_or_path, hub_id=name_or_path)
        return BaseOrigin(ref=name_or_path)
    resolved = local.resolve()
    match = _HUB_CACHE.search(resolved.as_posix())
    if match:
        hub_id = f"{match['org']}/{match['name']}"
        return BaseOrigin(ref=hub_id, hub_id=hub_id, revision=match["commit"])
    return BaseOrigin(ref=str(resolved))


def load_snippet(ref: str, id2label: dict[int, str]) -> str:
    """The two lines (and the import) that load an adapter at ``ref`` with its head's labels."""
    labels = {int(k): str(v) for k, v in id2label.items()}
    inverse = {v: k for k, v in labels.items()}
    return (
        "from peft import AutoPeftModel\n\n"
        f"model = AutoPeftModel.from_pretrained(\n    {ref!r},\n    id2label={labels!r},\n    label2id={inverse!r},\n)"
    )


def _card(origin: BaseOrigin, folder: Path, id2label: dict[int, str]) -> str:
    from huggingface_hub import ModelCardData

    data = ModelCardData(library_name="peft", pipeline_tag="audio-classification", base_model=origin.hub_id,
                         tags=["audio-classification", "speech-emotion-recognition", "hf-ser", "lora"])  # fmt: skip
    if origin.hub_id:
        where = f"the Hub model `{origin.hub_id}`" + (f" (commit `{origin.revision}`)" if origin.revision else "")
    elif not origin.ref or not Path(origin.ref).is_dir():
        where = (f"`{origin.ref or 'a model built in code'}`, which is neither a Hub id nor a folder here (hf-ser's in-code test model, or a "
                 "folder since moved): point `base_model_name_or_path` in `adapter_config.json` at the backbone")  # fmt: skip
    else:
        where = (f"the local folder `{origin.ref}` (it has no Hub id): copy that folder along with this adapter, and "
                 "change `base_model_name_or_path` in `adapter_config.json` to where it is")  # fmt: skip
    pipeline_kwargs = {"id2label": {int(k): v for k, v in id2label.items()}}
    pipeline_kwargs["label2id"] = {v: k for k, v in pipeline_kwargs["id2label"].items()}
    body = f"""
# LoRA adapter ({len(id2label)} labels: {", ".join(id2label.values())})

A LoRA adapter trained with hf-ser, with the classification head saved whole (PEFT `modules_to_save`). Its base is
{where}. The parent folder holds the same model with the adapter merged in, which `pipeline()` loads as it is.

Load it with PEFT (the labels give the head its size and names; the base's own config would not):

```python
{load_snippet(str(folder), id2label)}
```

or with transformers, which applies the adapter itself:

```python
from transformers import pipeline

classifier = pipeline("audio-classification", model={str(folder)!r}, model_kwargs={pipeline_kwargs!r})
```
"""
    return f"---\n{data.to_yaml()}\n---\n{body}"


def save_adapter(peft_model, feature_extractor, folder: str | Path, *, base: str | None) -> BaseOrigin:
    """``peft_model.save_pretrained(folder)`` with the base recorded as :func:`base_origin` of ``base``, the feature
    extractor and a card with the lines that load it; returns the origin recorded. ``base`` None: a backbone built
    in code, which no client can load (the name PEFT recorded stays, with no Hub id)."""
    folder = Path(folder)
    peft_model.save_pretrained(str(folder))
    if base is None:
        origin = BaseOrigin(ref=peft_model.peft_config[peft_model.active_adapter].base_model_name_or_path or "")
    else:
        origin = base_origin(base)
        config_file = folder / "adapter_config.json"
        config = json.loads(config_file.read_text())
        config["base_model_name_or_path"] = origin.ref
        if origin.revision:
            config["revision"] = origin.revision
        config_file.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    feature_extractor.save_pretrained(str(folder))
    id2label = dict(peft_model.base_model.model.config.id2label)
    (folder / "README.md").write_text(_card(origin, folder.resolve(), id2label))
    return origin
