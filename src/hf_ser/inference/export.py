"""ONNX export of an audio classifier for fast CPU inference (ONNX Runtime), optionally int8-quantised.

optimum's ONNX exporter does not install against transformers 5 (optimum-onnx pins transformers < 4.58), so the
model is exported with PyTorch's own exporter (``torch.onnx.export(dynamo=True)``) with dynamic batch and sample
axes, and quantised with ONNX Runtime's dynamic quantiser, MatMul weights only (int8 MatMul is the fast kernel on
CPUs with VNNI; quantising the conv encoder too made hubert-base slower in our probe, and transformers.js's WebAssembly
runtime has no ConvInteger). Two rewrites make the CPU graph faster with the same arithmetic: attention is exported
eager (no SDPA masking guards) and the conv encoder as 2-d convolutions (:mod:`hf_ser.inference.onnx_graph`).

The folder is in the layout transformers.js and optimum read: ``onnx/model.onnx`` (fp32) and, with ``--quantize
int8``, ``onnx/model_quantized.onnx`` (what transformers.js loads for ``dtype: "q8"``), with the checkpoint's
``config.json`` and ``preprocessor_config.json`` at the top, so ``hf-ser predict --backend onnx --model FOLDER`` and
``pipeline("audio-classification", FOLDER)`` in transformers.js both know the labels and the feature extraction.
Exports of earlier versions (``model.onnx`` / ``model.int8.onnx`` at the top) are still read. The model's own main
input is exported (``input_values`` for the wav2vec2 family; Whisper's fixed-window ``input_features``).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from hf_ser.inference.onnx_graph import conv1d_as_conv2d

__all__ = ["FP32_FILE", "INT8_FILE", "ONNX_FILES", "ExportError", "export_onnx", "onnx_model_file"]

logger = logging.getLogger(__name__)
ONNX_DIR = "onnx"
FP32_FILE, INT8_FILE = f"{ONNX_DIR}/model.onnx", f"{ONNX_DIR}/model_quantized.onnx"
# what predict loads, in this order of preference: the transformers.js layout, then earlier versions' flat one
ONNX_FILES = (INT8_FILE, FP32_FILE, "model.int8.onnx", "model.onnx")


def onnx_model_file(folder: str | Path) -> Path:
    folder = Path(folder)
    for name in ONNX_FILES:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"no {', '.join(ONNX_FILES)} in {folder} (write one with `hf-ser export`)")


class ExportError(RuntimeError):
    """An export that cannot be done or failed; the message says why, and no output folder was left behind."""


class _Logits(torch.nn.Module):
    """The model's logits from its main input (and attention mask), positionally, for the exporter."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, main_input, attention_mask=None):
        inputs = {self.model.main_input_name: main_input}
        if attention_mask is not None:
            inputs["attention_mask"] = attention_mask
        return self.model(**inputs).logits


def _example_inputs(model, fe) -> tuple[dict, dict]:
    """(example tensors, dynamic shapes) for the model's main input (+ attention mask): batch and samples dynamic for
    raw-waveform models; for a fixed-window extractor (Whisper: mel frames of 30 s) only the batch is dynamic."""
    from hf_ser.modeling.architectures import feature_inputs, fixed_input_samples

    rate = int(fe.sampling_rate)
    rng = np.random.default_rng(0)
    example = feature_inputs(fe, [rng.normal(size=rate).astype(np.float32) * 0.1 for _ in range(2)])
    main = model.main_input_name
    tensors = {main: example[main]}
    if "attention_mask" in example and "attention_mask" in inspect.signature(model.forward).parameters:
        tensors["attention_mask"] = example["attention_mask"].long()
    batch = torch.export.Dim("batch")
    if fixed_input_samples(fe):
        return tensors, {name: {0: batch} for name in tensors}
    samples = torch.export.Dim("samples", min=800, max=rate * 3600)
    return tensors, {name: {0: batch, 1: samples} for name in tensors}


def _eager_attention(model) -> None:
    """Export plain (eager) attention: the SDPA path exports as masked softmax with IsNaN/Where guards that cost 7% of
    hubert-base's int8 ONNX time on a 10 s input; eager attention is the same arithmetic without them."""
    try:
        model.set_attn_implementation("eager")
    except (AttributeError, ValueError) as err:  # an architecture without the switch exports as it is
        logger.debug("attention stays %s: %s", getattr(model.config, "_attn_implementation", "?"), err)


def _check_target(out: Path) -> None:
    """An existing --output must be an earlier hf-ser export (replaced whole) or empty: never another model's folder."""
    if not out.is_dir():
        return
    contents = sorted(p.name for p in out.iterdir())
    if contents and not (out / "export.json").is_file():
        raise ExportError(
            f"--output {out}: the folder holds files that are not an hf-ser export ({', '.join(contents[:4])}"
            f"{', ...' if len(contents) > 4 else ''}); choose a new or empty folder"
        )


def export_onnx(
    model_path: str,
    output_dir: str | Path,
    *,
    quantize: str | None = None,
    opset: int | None = None,
    cpu_rewrites: bool = True,
) -> Path:
    """Write ``output_dir`` with the ONNX model (fp32, or int8 with ``quantize="int8"``) and the checkpoint's config and
    feature extractor; returns the ONNX file.

    The folder is written under a temporary name beside it and renamed into place only when complete, so a failed or
    interrupted export leaves nothing behind, and an earlier export there stays until the new one is whole. Raises
    ModelLoadError for a model that cannot be loaded and ExportError for a folder it must not write into or an
    export that fails. ``cpu_rewrites=False`` exports the graph as torch writes it (SDPA attention, 1-d convs),
    for comparison: ``benchmarks/test_archive_throughput.py::test_onnx_graph_rewrites``."""
    from hf_ser.modeling.loading import load_classifier

    if quantize not in (None, "int8"):
        raise ValueError(f"--quantize {quantize}: only int8 is supported")
    out = Path(output_dir).expanduser()
    _check_target(out)
    model, fe = load_classifier(model_path, "--model")
    model = model.float().eval()
    if cpu_rewrites:
        _eager_attention(model)
    tensors, shapes = _example_inputs(model, fe)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        fp32 = stage / FP32_FILE
        fp32.parent.mkdir()
        try:
            with torch.no_grad():
                program = torch.onnx.export(_Logits(model).eval(), tuple(tensors.values()), dynamo=True,
                                            dynamic_shapes=tuple(shapes.values()), input_names=list(tensors),
                                            output_names=["logits"], opset_version=opset)  # fmt: skip
            program.save(str(fp32))
        except Exception as err:  # noqa: BLE001 - the exporter raises many types; the user needs one line
            reason = (str(err).strip().splitlines() or [""])[0][:300]
            raise ExportError(
                f"ONNX export of {model_path} ({type(model).__name__}) failed: {type(err).__name__}: {reason}"
            ) from err
        if cpu_rewrites:
            try:
                conv1d_as_conv2d(fp32)
            except Exception as err:  # noqa: BLE001 - onnx raises DecodeError, ValidationError, ...; one line
                raise ExportError(f"ONNX export of {model_path}: rewriting the conv encoder failed: "
                                  f"{type(err).__name__}: {str(err)[:200]}") from err  # fmt: skip
        model.config.save_pretrained(stage)
        fe.save_pretrained(stage)
        target = fp32
        if quantize == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            target = stage / INT8_FILE
            quantize_dynamic(str(fp32), str(target), op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8)
        (stage / "export.json").write_text(json.dumps({"source": str(model_path), "onnx": target.relative_to(stage).as_posix(),
                                                       "quantize": quantize, "inputs": list(tensors)}, indent=2) + "\n")  # fmt: skip
        _swap_into_place(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    final = out / target.relative_to(stage)
    logger.info("wrote %s (%.1f MiB)", final, final.stat().st_size / 2**20)
    return final


def _swap_into_place(stage: Path, out: Path) -> None:
    """Rename the finished ``stage`` to ``out``; an earlier export at ``out`` is moved aside first and removed after."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    try:
        os.replace(stage, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
