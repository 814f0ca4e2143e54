"""ONNX export of an audio classifier for fast CPU inference (ONNX Runtime), optionally int8-quantised.

optimum's ONNX exporter does not install against transformers 5 (optimum-onnx pins transformers < 4.58), so the
model is exported with PyTorch's own exporter (``torch.onnx.export(dynamo=True)``) with dynamic batch and sample
axes, and quantised with ONNX Runtime's dynamic quantiser, MatMul weights only (int8 MatMul is the fast kernel on
CPUs with VNNI; quantising the conv encoder too made hubert-base slower in our probe). The output folder holds
``model.onnx`` (or ``model.int8.onnx``) beside the checkpoint's ``config.json`` and ``preprocessor_config.json``, so
``hf-ser predict --backend onnx --model FOLDER`` knows the labels and the feature extraction.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch

__all__ = ["ONNX_FILES", "export_onnx", "onnx_model_file"]

logger = logging.getLogger(__name__)
ONNX_FILES = ("model.int8.onnx", "model.onnx")  # what predict loads, in this order of preference


def onnx_model_file(folder: str | Path) -> Path:
    folder = Path(folder)
    for name in ONNX_FILES:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"no {' or '.join(ONNX_FILES)} in {folder} (write one with `hf-ser export`)")


class _Logits(torch.nn.Module):
    def __init__(self, model, with_mask: bool):
        super().__init__()
        self.model, self.with_mask = model, with_mask

    def forward(self, input_values, attention_mask=None):
        if self.with_mask:
            return self.model(input_values=input_values, attention_mask=attention_mask).logits
        return self.model(input_values=input_values).logits


def export_onnx(
    model_path: str, output_dir: str | Path, *, quantize: str | None = None, opset: int | None = None
) -> Path:
    """Write ``output_dir`` with the ONNX model (fp32, or int8 with ``quantize="int8"``) and the checkpoint's config and
    feature extractor; returns the ONNX file. Raises ModelLoadError for a model that cannot be loaded."""
    from transformers import AutoFeatureExtractor, AutoModelForAudioClassification

    from hf_ser.modeling import load_pretrained

    if quantize not in (None, "int8"):
        raise ValueError(f"--quantize {quantize}: only int8 is supported")
    model, fe = load_pretrained(model_path, "--model", AutoModelForAudioClassification.from_pretrained,
                                AutoFeatureExtractor.from_pretrained)  # fmt: skip
    model = model.float().eval()
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with_mask = bool(getattr(fe, "return_attention_mask", False))
    rate = int(fe.sampling_rate)
    x = torch.randn(2, rate) * 0.1
    args = (x, torch.ones(2, rate, dtype=torch.long)) if with_mask else (x,)
    batch, samples = torch.export.Dim("batch"), torch.export.Dim("samples", min=800, max=rate * 3600)
    shapes = {"input_values": {0: batch, 1: samples}}
    if with_mask:
        shapes["attention_mask"] = {0: batch, 1: samples}
    fp32 = out / "model.onnx"
    with torch.no_grad():
        program = torch.onnx.export(_Logits(model, with_mask).eval(), args, dynamo=True, dynamic_shapes=shapes,
                                    input_names=list(shapes), output_names=["logits"], opset_version=opset)  # fmt: skip
    program.save(str(fp32))
    model.config.save_pretrained(out)
    fe.save_pretrained(out)
    target = fp32
    if quantize == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        target = out / "model.int8.onnx"
        quantize_dynamic(str(fp32), str(target), op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8)
    (out / "export.json").write_text(json.dumps({"source": str(model_path), "onnx": target.name, "quantize": quantize,
                                                 "inputs": list(shapes)}, indent=2) + "\n")  # fmt: skip
    for stale in ONNX_FILES:
        if (out / stale).is_file() and out / stale not in (target, fp32):
            (out / stale).unlink()
    logger.info("wrote %s (%.1f MiB)", target, target.stat().st_size / 2**20)
    return target
