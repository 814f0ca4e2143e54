"""int8 ONNX variants that were tried to make the conv encoder (about 44% of hubert-base's int8 time on a 2-core
AVX2 CPU) or the rest faster, timed against the graph ``hf-ser export --quantize int8`` writes. None is kept;
this file is how the README's figures for them are reproduced.

From the fp32 graph hf-ser exports (eager attention, 2-d convs), each variant is quantized with ONNX Runtime's
``quantize_dynamic`` and run on the same 10 s input, medians of interleaved rounds in one process:

- ``shipped``: MatMul weights int8 (what hf-ser ships);
- ``conv-int8``: the convolutions quantized too (ConvInteger);
- ``im2col-int8``: each encoder convolution (input channels >= 64) rewritten as strided Slices + one MatMul
  (:func:`conv1d_as_matmul`, exact in fp32), so the quantizer makes it an int8 MatMul;
- ``bert-fused``: ONNX Runtime's transformer optimizer (``model_type="bert"``) before quantizing;
- ``uint8-weights`` and ``per-channel``: other weight quantizations;
- ``conv-static``: the encoder's convolutions (all but the waveform's) quantized statically (``QLinearConv``, ranges
  calibrated on the four ``app_examples`` clips), then the MatMuls dynamically as shipped.

``conv-static`` is the one variant that is faster on a CPU with VNNI, but it is not kept: the 8-bit steps in the conv
encoder are magnified by the LayerNorm that follows it (HuBERT's features ride on a large per-frame offset that the
norm removes), so the output moves far from fp32. ``test_static_conv_fidelity`` measures that on the SSL-pretrained
tiny HuBERT the demo fine-tunes (``models/tiny-hubert-ssl``, whose conv encoder the demo keeps frozen), calibrated on
the four clips and scored on held-out windows of ``app_examples/long_recording.wav``.

Each variant's largest logit difference from the torch fp32 model is recorded beside its time, and the im2col
rewrite's fp32 graph is checked against the shipped fp32 one (odd input lengths too): the rewrite is exact.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from common import SMOKE, build_model, feature_extractor


def conv1d_as_matmul(path, min_channels: int = 64) -> int:
    """Rewrite each 1-d Conv (constant weight, no padding, dilation 1, one group, >= ``min_channels`` inputs) as
    ``Concat_j Slice(x, j, step=stride)`` -> ``MatMul`` with the weight as ``[out, k * in]``; returns how many."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    nodes, extra, n = [], [], 0
    for node in graph.node:
        w = inits.get(node.input[1]) if node.op_type == "Conv" and len(node.input) > 1 else None
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if (w is None or len(w.dims) != 3 or w.dims[1] < min_channels or attrs.get("group", 1) != 1
                or any(attrs.get("pads", [0, 0])) or any(d != 1 for d in attrs.get("dilations", [1]))):  # fmt: skip
            nodes.append(node)
            continue
        weight = numpy_helper.to_array(w)  # [out, in, k]
        out_ch, in_ch, k = weight.shape
        stride, base = attrs.get("strides", [1])[0], node.output[0]
        parts = []
        for j in range(k):  # frame t takes x[:, :, t * stride + j]: L = (T - k) // stride + 1 of them for every j
            names = [f"{base}__s{j}_{t}" for t in ("start", "end", "axes", "step")]
            end = -(k - 1 - j) if j < k - 1 else 2**62
            extra += [numpy_helper.from_array(np.array([v], np.int64), nm)
                      for v, nm in zip((j, end, 2, stride), names, strict=True)]  # fmt: skip
            parts.append(f"{base}__part{j}")
            nodes.append(helper.make_node("Slice", [node.input[0], *names], [parts[-1]]))
        nodes.append(helper.make_node("Concat", parts, [f"{base}__cols"], axis=1))  # [B, k * in, L], row j * in + c
        flat = np.ascontiguousarray(weight.transpose(0, 2, 1).reshape(out_ch, k * in_ch))
        extra.append(numpy_helper.from_array(flat, f"{base}__w"))
        product = base if len(node.input) < 3 else f"{base}__nobias"
        nodes.append(helper.make_node("MatMul", [f"{base}__w", f"{base}__cols"], [product]))
        if len(node.input) >= 3:
            bias = numpy_helper.to_array(inits[node.input[2]]).reshape(out_ch, 1)
            extra.append(numpy_helper.from_array(bias, f"{base}__b"))
            nodes.append(helper.make_node("Add", [product, f"{base}__b"], [base]))
        n += 1
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(extra)
    used = {i for nd in graph.node for i in nd.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return n


def _fp32_exports(root, model):
    """The fp32 export as hf-ser writes it, and the same with the encoder as im2col MatMuls (every conv but the first,
    whose one input channel is the waveform; the tiny smoke model's convs are narrow, so the bar is lower there)."""
    import hf_ser.inference.export as export

    plain = export.export_onnx(str(model), root / "fp32")
    rewrite, rewritten = export.conv1d_as_conv2d, []

    def both(path):
        rewritten.append(conv1d_as_matmul(path, min_channels=2 if SMOKE else 64))
        return rewritten[-1] + rewrite(path)

    export.conv1d_as_conv2d = both
    try:
        im2col = export.export_onnx(str(model), root / "fp32-im2col")
    finally:
        export.conv1d_as_conv2d = rewrite
    assert rewritten and rewritten[0] > 0, "no convolution was rewritten"
    return plain, im2col


def _static_conv(src, dst, calibration: list[dict]) -> int:
    """``dst``: ``src``'s convolutions but the waveform's (one input channel) static int8 from ``calibration``'s
    ranges, then MatMul weights dynamic int8 as shipped; returns how many convolutions were quantized."""
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    model = onnx.load(str(src))
    dims = {i.name: list(i.dims) for i in model.graph.initializer}
    convs = [n.name for n in model.graph.node if n.op_type == "Conv"]
    waveform = [n.name for n in model.graph.node if n.op_type == "Conv" and dims.get(n.input[1], [0, 0])[1] == 1]
    staged = dst.with_name(dst.stem + "-staged.onnx")
    reader = iter(calibration)

    class Reader:  # ONNX Runtime's CalibrationDataReader protocol
        def get_next(self):
            return next(reader, None)

    quantize_static(str(src), str(staged), Reader(), quant_format=QuantFormat.QDQ, op_types_to_quantize=["Conv"],
                    nodes_to_exclude=waveform, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)  # fmt: skip
    quantize_dynamic(str(staged), str(dst), op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8)
    return len(convs) - len(waveform)


def _example_clips(fe) -> list[np.ndarray]:
    """The four app_examples clips as the feature extractor gives them to the model, one [1, samples] array each."""
    import soundfile as sf
    from common import REPO

    clips = [
        sf.read(REPO / "app_examples" / f"{n}.wav", dtype="float32")[0] for n in ("angry", "calm", "happy", "sad")
    ]
    return [fe(c, sampling_rate=16_000, return_tensors="np")["input_values"].astype(np.float32) for c in clips]


def _feed(session, x) -> dict:
    """The session's inputs for waveform ``x``: an all-ones mask where the graph takes one (the tiny smoke model)."""
    names = [i.name for i in session.get_inputs()]
    return {names[0]: x, **({"attention_mask": np.ones(x.shape, np.int64)} if "attention_mask" in names else {})}


def _op_shares(path, feed, folder) -> dict[str, float]:
    """Share of the shipped graph's kernel time per operator type (ONNX Runtime's profiler, 3 runs), largest first."""
    import json
    from collections import Counter

    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.enable_profiling = True
    opts.profile_file_prefix = str(folder / "profile")
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    for _ in range(3):
        session.run(None, feed)
    with open(session.end_profiling()) as fh:
        events = json.load(fh)
    per_op = Counter()
    for e in events:
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
            per_op[e["args"]["op_name"]] += e["dur"]
    total = sum(per_op.values()) or 1
    return {op: d / total for op, d in per_op.most_common()}


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """A hubert-base-shaped model (tiny in the smoke run), its fp32 export and the im2col one."""
    root = tmp_path_factory.mktemp("onnx_variants")
    arch = "tiny" if SMOKE else "hubert-base"
    build_model(arch).save_pretrained(root / "model")
    feature_extractor(arch).save_pretrained(root / "model")
    return (arch, root, root / "model", *_fp32_exports(root, root / "model"))


def test_int8_variants(benchmark, info, exports):
    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModelForAudioClassification

    arch, tmp_path, model, plain, im2col = exports
    files = {}

    def quantized(name, src, **kw):
        files[name] = tmp_path / f"{name}.onnx"
        kw.setdefault("op_types_to_quantize", ["MatMul"])
        quantize_dynamic(str(src), str(files[name]), weight_type=kw.pop("weight_type", QuantType.QInt8), **kw)

    quantized("shipped", plain)
    quantized("conv-int8", plain, op_types_to_quantize=["MatMul", "Conv"])
    quantized("im2col-int8", im2col)
    quantized("uint8-weights", plain, weight_type=QuantType.QUInt8)
    quantized("per-channel", plain, per_channel=True)
    files["conv-static"] = tmp_path / "conv-static.onnx"
    probe = ort.InferenceSession(str(plain), providers=["CPUExecutionProvider"])
    fe = feature_extractor(arch)
    static_convs = _static_conv(plain, files["conv-static"], [_feed(probe, x) for x in _example_clips(fe)])
    from onnxruntime.transformers import optimizer

    cfg = AutoModelForAudioClassification.from_pretrained(model).config
    fused = optimizer.optimize_model(str(plain), model_type="bert", num_heads=cfg.num_attention_heads,
                                     hidden_size=cfg.hidden_size, opt_level=1)  # fmt: skip
    fused.save_model_to_file(str(tmp_path / "fused-fp32.onnx"))
    quantized("bert-fused", tmp_path / "fused-fp32.onnx", op_types_to_quantize=["MatMul", "Attention"])
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sessions = {n: ort.InferenceSession(str(f), opts, providers=["CPUExecutionProvider"]) for n, f in files.items()}
    x = (0.1 * np.random.default_rng(0).standard_normal((1, (1 if SMOKE else 10) * 16_000))).astype(np.float32)
    feeds = {n: _feed(s, x) for n, s in sessions.items()}
    with torch.no_grad():
        ref = AutoModelForAudioClassification.from_pretrained(model).eval()(torch.from_numpy(x)).logits.numpy()
    diff = {n: float(np.abs(s.run(None, feeds[n])[0] - ref).max()) for n, s in sessions.items()}
    # the im2col rewrite itself changes no result: its fp32 graph against the shipped fp32 one, odd lengths too
    exact = 0.0
    fp32 = [ort.InferenceSession(str(f), providers=["CPUExecutionProvider"]) for f in (plain, im2col)]
    for n_samples in (16_007, 52_807):
        xs = (0.1 * np.random.default_rng(1).standard_normal((1, n_samples))).astype(np.float32)
        a, b = (s.run(None, _feed(s, xs))[0] for s in fp32)
        exact = max(exact, float(np.abs(a - b).max()))
    assert exact < 1e-3, exact
    rounds = 1 if SMOKE else 5
    times = {n: [] for n in sessions}
    for _ in range(rounds):  # interleaved: every variant sees the same machine state
        for n, s in sessions.items():
            t0 = time.perf_counter()
            s.run(None, feeds[n])
            times[n].append(time.perf_counter() - t0)
    shares = _op_shares(files["shipped"], feeds["shipped"], tmp_path)
    benchmark.group = "int8 ONNX variants (not kept), CPU"
    benchmark.pedantic(lambda: sessions["shipped"].run(None, feeds["shipped"]), rounds=1, iterations=1)
    medians = {n: float(np.median(t)) for n, t in times.items()}
    info.update(arch=arch, rounds=rounds, input_s=x.shape[1] / 16_000, fused=fused.get_fused_operator_statistics(),
                medians_ms={n: 1000 * m for n, m in medians.items()},
                vs_shipped={n: m / medians["shipped"] for n, m in medians.items()}, max_logit_diff=diff,
                im2col_fp32_diff=exact, shipped_op_shares=shares, static_convs=static_convs)  # fmt: skip
    assert all(np.isfinite(v) for v in medians.values())
    assert diff["shipped"] < 1.0 and np.isfinite(list(diff.values())).all()


def test_static_conv_fidelity(benchmark, info, tmp_path):
    """How far ``conv-static`` moves a pretrained model from fp32, beside the shipped graph: the SSL-pretrained tiny
    HuBERT (a seeded random head on top), calibrated on the four clips, scored on 3 s windows of the long recording
    (audio it was not calibrated on). Relative error of the logits (``||q - fp32|| / ||fp32||``, over all windows)
    and how often the top label differs."""
    import onnxruntime as ort
    import soundfile as sf
    import torch
    from common import REPO
    from transformers import AutoFeatureExtractor, AutoModelForAudioClassification

    ssl = REPO / "models" / "tiny-hubert-ssl"
    torch.manual_seed(0)  # the head on the pretrained encoder is new: seeded
    AutoModelForAudioClassification.from_pretrained(ssl).save_pretrained(tmp_path / "classifier")
    fe = AutoFeatureExtractor.from_pretrained(ssl)
    fe.save_pretrained(tmp_path / "classifier")
    plain, files = _shipped_and_fp32(tmp_path / "classifier", tmp_path / "ssl")
    probe = ort.InferenceSession(str(plain), providers=["CPUExecutionProvider"])
    _static_conv(plain, files["conv-static"], [_feed(probe, x) for x in _example_clips(fe)])
    audio = sf.read(REPO / "app_examples" / "long_recording.wav", dtype="float32")[0]
    windows = [audio[a : a + 48_000] for a in range(0, len(audio) - 48_000 + 1, 48_000)]
    windows = [w for w in windows if np.abs(w).max() > 0.01]  # speech, not the pauses
    inputs = [fe(w, sampling_rate=16_000, return_tensors="np")["input_values"].astype(np.float32) for w in windows]
    runs = {n: _with_norm_tensors(p, inputs) for n, p in {"fp32": plain, **files}.items()}
    ref = runs.pop("fp32")
    rel, flips = {}, {}
    for name, out in runs.items():
        rel[name] = {k: _rel(out[k], ref[k]) for k in ("norm_in", "norm_out", "logits")}
        flips[name] = float(
            np.mean(np.concatenate(out["logits"]).argmax(1) != np.concatenate(ref["logits"]).argmax(1))
        )
    benchmark.group = "int8 ONNX variants (not kept), CPU"
    benchmark.pedantic(lambda: probe.run(None, _feed(probe, inputs[0])), rounds=1, iterations=1)
    info.update(model="models/tiny-hubert-ssl", windows=len(inputs), rel_error=rel, top_label_changed=flips,
                logit_rel_error={n: r["logits"] for n, r in rel.items()})  # fmt: skip
    assert all(np.isfinite(r["logits"]) for r in rel.values())


def _shipped_and_fp32(model, folder) -> tuple:
    """``hf-ser export --quantize int8`` of ``model`` into ``folder``: its fp32 graph, and the graphs to compare with
    it (the shipped int8 one, and where ``conv-static`` is to be written)."""
    import hf_ser.inference.export as export

    shipped = export.export_onnx(str(model), folder, quantize="int8")
    return folder / export.FP32_FILE, {"shipped": shipped, "conv-static": folder / "conv-static.onnx"}


def _rel(out: list, ref: list) -> float:
    """``||out - ref|| / ||ref||`` over all windows."""
    num = sum(float(np.sum((a - b) ** 2)) for a, b in zip(out, ref, strict=True))
    return float(np.sqrt(num / sum(float(np.sum(b**2)) for b in ref)))


def _with_norm_tensors(path, inputs) -> dict[str, list]:
    """The graph's logits for each input, and the input and output of its first LayerNormalization (the norm after
    the conv encoder; quantization keeps these tensors' names)."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(path))
    norm = next(n for n in model.graph.node if n.op_type == "LayerNormalization")
    extra = {"norm_in": norm.input[0], "norm_out": norm.output[0]}
    for tensor in extra.values():
        model.graph.output.append(onnx.helper.make_tensor_value_info(tensor, onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = {"logits": session.get_outputs()[0].name, **extra}
    out: dict[str, list] = {k: [] for k in names}
    for x in inputs:
        for key, value in zip(names, session.run(list(names.values()), _feed(session, x)), strict=True):
            out[key].append(value)
    return out


def test_static_conv_demo_accuracy(benchmark, info, tmp_path):
    """The trained demo model (``make demo`` first: ``outputs/demo`` and ``data/demo/eight_emotions``), exported fp32,
    shipped int8 and ``conv-static`` (calibrated on 32 training clips): test-split accuracy of each, and agreement
    with fp32."""
    import onnxruntime as ort
    from common import REPO
    from datasets import Audio
    from transformers import AutoConfig, AutoFeatureExtractor

    from hf_ser.audio import decode_audio_bytes
    from hf_ser.data.loading import load_ser_dataset

    model, data = REPO / "outputs" / "demo", REPO / "data" / "demo" / "eight_emotions"
    if not (model / "config.json").is_file() or not data.is_dir():
        pytest.skip("no trained demo model here: run `make demo` first")
    dd = load_ser_dataset(str(data), "speaker", splits=("train", "test"))
    clips = {k: [decode_audio_bytes(r["audio"]["bytes"]).array for r in dd[k].cast_column("audio", Audio(decode=False))]
             for k in ("train", "test")}  # fmt: skip
    feature = dd["test"].features["label"]
    labels = [feature.int2str(x) if hasattr(feature, "int2str") else x for x in dd["test"]["label"]]
    fe = AutoFeatureExtractor.from_pretrained(model)
    plain, others = _shipped_and_fp32(model, tmp_path / "demo")
    probe = ort.InferenceSession(str(plain), providers=["CPUExecutionProvider"])
    pick = np.random.default_rng(0).choice(len(clips["train"]), size=min(32, len(clips["train"])), replace=False)
    calibration = [_feed(probe, fe(clips["train"][i], sampling_rate=16_000, return_tensors="np")["input_values"])
                   for i in sorted(pick)]  # fmt: skip
    _static_conv(plain, others["conv-static"], calibration)
    files = {"fp32": plain, **others}
    inputs = [
        fe(c, sampling_rate=16_000, return_tensors="np")["input_values"] for c in clips["test"]
    ]  # once, not per graph
    to_id = {v: int(k) for k, v in AutoConfig.from_pretrained(model).id2label.items()}
    truth = np.array([to_id[x] for x in labels])
    preds = {}
    for name, path in files.items():
        s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        preds[name] = np.array([s.run(None, _feed(s, x))[0][0].argmax() for x in inputs])
    benchmark.group = "int8 ONNX variants (not kept), CPU"
    benchmark.pedantic(lambda: probe.run(None, calibration[0]), rounds=1, iterations=1)
    info.update(model="outputs/demo", clips=len(truth), accuracy={n: float(np.mean(p == truth)) for n, p in preds.items()},
                agreement_with_fp32={n: float(np.mean(p == preds["fp32"])) for n, p in preds.items()})  # fmt: skip
