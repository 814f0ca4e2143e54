"""What `hf-ser predict` costs against the plain pipeline, measured side by side in one run.

- CPU backends at batch 1: pipeline("audio-classification") (the baseline), hf-ser's torch path, ONNX Runtime fp32 and
  ONNX Runtime with int8 MatMul weights (random-init real shapes: latency only).
- Agreement of the ONNX backends with fp32 torch on a trained model (the demo's, on its test split): top-1 agreement and
  accuracy; skipped until `make demo` has written outputs/demo.
- GPU: the predict path over a folder of WAV files (decoding, length-sorted batches by total seconds, bf16) against the
  bare bf16 forward on the same clips already in memory.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from common import ACCEL, HAS_CUDA, REPO, SMOKE, build_model, clips, feature_extractor, sync

ARCHS = ["tiny"] if SMOKE else ["hubert-base", "hubert-large"]
CLIPS = [1.0] if SMOKE else [3.0, 10.0]
BACKENDS = ["pipeline", "torch", "onnx_fp32", "onnx_int8"]
_EXPORTS: dict = {}


def _saved(arch, tmp_path_factory):
    """(checkpoint folder, {backend: onnx folder}) for a random-init model of this shape, exported once."""
    if arch not in _EXPORTS:
        from hf_ser.inference.export import export_onnx

        root = tmp_path_factory.mktemp(arch)
        build_model(arch).save_pretrained(root / "model")
        feature_extractor(arch).save_pretrained(root / "model")
        export_onnx(str(root / "model"), root / "fp32")
        export_onnx(str(root / "model"), root / "int8", quantize="int8")
        _EXPORTS[arch] = (root / "model", {"onnx_fp32": root / "fp32", "onnx_int8": root / "int8"})
    return _EXPORTS[arch]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("clip_s", CLIPS)
@pytest.mark.parametrize("arch", ARCHS)
def test_predict_backend_cpu(benchmark, info, tmp_path_factory, arch, clip_s, backend):
    from hf_ser.inference.predict import EmotionPredictor

    benchmark.group = f"predict cpu {arch} {clip_s:g} s"
    model_dir, onnx = _saved(arch, tmp_path_factory)
    (audio,) = clips([clip_s])
    if backend == "pipeline":
        from transformers import pipeline

        clf = pipeline("audio-classification", model=str(model_dir), device="cpu")

        def call():
            return clf(audio, top_k=8)
    else:
        p = (EmotionPredictor.from_pretrained(str(model_dir)) if backend == "torch"
             else EmotionPredictor.from_pretrained(str(onnx[backend]), backend="onnx"))  # fmt: skip

        def call():
            return p.predict_arrays([audio])

    call()
    rounds = 1 if SMOKE else max(3, min(15, int(8 / (clip_s * (0.3 if arch == "hubert-large" else 0.1)))))
    benchmark.pedantic(call, rounds=rounds, iterations=1, warmup_rounds=0)
    median = benchmark.stats.stats.median
    info.update(arch=arch, backend=backend, clip_s=clip_s, batch=1, device="cpu", latency_median_s=median,
                rtf=median / clip_s, threads=torch.get_num_threads())  # fmt: skip


def test_onnx_agreement_on_the_demo_model(benchmark, info, tmp_path):
    """Top-1 agreement and accuracy of the ONNX backends against fp32 torch, on a trained model and real inputs."""
    from hf_ser.data.layout import load_eight_emotions
    from hf_ser.data.transforms import clip_samples
    from hf_ser.inference.export import export_onnx
    from hf_ser.inference.predict import EmotionPredictor
    from hf_ser.labels import EMOTIONS

    model_dir, data_dir = REPO / "outputs" / "demo", REPO / "data" / "demo" / "eight_emotions"
    if not (model_dir / "model.safetensors").is_file() or not data_dir.is_dir():
        pytest.skip("needs a trained demo model: run `make demo` first")
    benchmark.group = "predict: ONNX agreement (demo model)"
    test = load_eight_emotions(str(data_dir), "speaker")["test"]
    arrays = [clip_samples(r["audio"]) for r in test]
    labels = np.array(test["label"])
    ref = EmotionPredictor.from_pretrained(str(model_dir))
    ref_pred = None
    out = {}

    def score():
        nonlocal ref_pred
        ref_probs = ref.predict_arrays(arrays)
        ref_pred = ref_probs.argmax(1)
        for q in (None, "int8"):
            folder = tmp_path / (q or "fp32")
            export_onnx(str(model_dir), folder, quantize=q)
            pred = EmotionPredictor.from_pretrained(str(folder), backend="onnx").predict_arrays(arrays).argmax(1)
            out[q or "fp32"] = pred

    benchmark.pedantic(score, rounds=1, iterations=1, warmup_rounds=0)
    assert [EMOTIONS.index(x) for x in ref.labels] == list(range(8))
    info.update(clips=len(labels), torch_accuracy=float((ref_pred == labels).mean()), device="cpu",
                **{f"{k}_agreement": float((v == ref_pred).mean()) for k, v in out.items()},
                **{f"{k}_accuracy": float((v == labels).mean()) for k, v in out.items()})  # fmt: skip


@pytest.mark.cuda
def test_predict_folder_vs_bare_forward_cuda(benchmark, info, tmp_path):
    """The predict path over WAV files against the bare bf16 forward on the same clips (batch 64, in memory)."""
    from hf_ser.inference.predict import EmotionPredictor

    assert HAS_CUDA or SMOKE
    arch = "tiny" if SMOKE else "hubert-large"
    n, secs = (16, 1.0) if SMOKE else (512, 3.0)
    benchmark.group = f"predict {ACCEL} {arch}: folder vs bare forward"
    model = build_model(arch)
    model.save_pretrained(tmp_path / "model")
    feature_extractor(arch).save_pretrained(tmp_path / "model")
    arrays = clips([secs] * n)
    for i, a in enumerate(arrays):
        sf.write(tmp_path / f"clip{i:04d}.wav", a, 16_000, subtype="FLOAT")
    files = sorted(tmp_path.glob("clip*.wav"))
    dtype = "bfloat16"
    p = EmotionPredictor.from_pretrained(str(tmp_path / "model"), device=ACCEL, dtype=dtype, batch_seconds=64 * secs,
                                         max_batch_size=64)  # fmt: skip
    list(p.predict_files(files[:64]))  # warm-up
    times = {}

    def folder():
        import time

        t = time.perf_counter()
        results = list(p.predict_files(files))
        sync(ACCEL)
        times["folder"] = time.perf_counter() - t
        assert all(r.scored for r in results)

    benchmark.pedantic(folder, rounds=1 if SMOKE else 3, iterations=1, warmup_rounds=0)
    net, fe = p.model, p.feature_extractor
    batches = [arrays[i : i + 64] for i in range(0, n, 64)]
    inputs = [{k: v.to(ACCEL) for k, v in fe(b, sampling_rate=16_000, return_tensors="pt", padding=True).items()}
              for b in batches]  # fmt: skip
    for x in inputs:
        x["input_values"] = x["input_values"].to(torch.bfloat16)

    def bare():
        with torch.inference_mode():
            for x in inputs:
                net(**x)
        sync(ACCEL)

    bare()
    import time

    reps = 1 if SMOKE else 5
    t = time.perf_counter()
    for _ in range(reps):
        bare()
    bare_s = (time.perf_counter() - t) / reps
    folder_s = benchmark.stats.stats.median
    audio = n * secs
    info.update(arch=arch, device=ACCEL, dtype=dtype, clips=n, clip_s=secs, folder_audio_s_per_s=audio / folder_s,
                bare_audio_s_per_s=audio / bare_s, folder_vs_bare=bare_s / folder_s)  # fmt: skip
