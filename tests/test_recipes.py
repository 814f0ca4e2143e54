"""recipes/train.py and recipes/evaluate.py end to end on a small espeak-ng dataset, plus every bad-input case."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import REPO, TINY, load_script

from hf_ser.labels import EMOTIONS
from hf_ser.training.configs import ConfigError, parse_recipe_args

# Loaded by path: on sys.path, recipes/ would shadow packages (a script named evaluate.py shadows `evaluate`).
train_recipe = load_script("recipes/train.py")
eval_recipe = load_script("recipes/eval.py")


def _run(dataset, out, *extra) -> int:
    return train_recipe.main(
        ["--dataset", str(dataset), "--protocol", "speaker", "--output_dir", str(out), *TINY, *extra]
    )


# ------------------------------------------------------------------------------------------------------------------
# Configs
# ------------------------------------------------------------------------------------------------------------------
RECIPE_YAMLS = sorted(
    p for p in (REPO / "recipes").rglob("*.yaml") if not {"accelerate_configs", "pretrain"} & set(p.parts)
)
PRETRAIN_YAMLS = sorted((REPO / "recipes" / "pretrain").glob("*.yaml"))
ACCELERATE_YAMLS = sorted((REPO / "recipes" / "accelerate_configs").glob("*.yaml"))


@pytest.mark.parametrize("path", RECIPE_YAMLS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_recipe_yaml_parses_through_the_real_parser(path):
    model_args, data_args, training_args, _ = parse_recipe_args(["--config", str(path)])
    raw = yaml.safe_load(path.read_text())
    assert model_args.peft == raw["peft"] and data_args.protocol == raw["protocol"]
    assert training_args.learning_rate == float(raw["learning_rate"]) and training_args.output_dir == raw["output_dir"]
    if "hubert-large" in path.parts and not path.stem.endswith("-fast"):  # the paper's protocol
        assert (model_args.model_name_or_path, training_args.learning_rate, training_args.num_train_epochs) == (
            "superb/hubert-large-superb-er",
            1e-5,
            50,
        )
        assert data_args.protocol == "random" and data_args.pitch_shift_p > 0 and data_args.noise_p > 0
    if path.stem.endswith("-fast"):  # same protocol, faster path; its comment names the learning-rate rule
        assert "square-root rule" in path.read_text() or model_args.peft == "classifier"
        assert "UNVERIFIED" in path.read_text() and data_args.protocol == "random"


@pytest.mark.parametrize("path", PRETRAIN_YAMLS, ids=lambda p: p.name)
def test_every_pretraining_yaml_parses_through_the_pretraining_parser(path):
    from hf_ser.training.configs import parse_yaml_and_flags
    from hf_ser.training.pretraining.run import PretrainArguments, PretrainTrainingArguments

    args, targs, _ = parse_yaml_and_flags((PretrainArguments, PretrainTrainingArguments), ["--config", str(path)], "x")
    raw = yaml.safe_load(path.read_text())
    assert args.audio_dir == raw["audio_dir"] and targs.output_dir == raw["output_dir"]
    assert targs.num_train_epochs == raw["num_train_epochs"] and targs.seed == raw["seed"]


@pytest.mark.parametrize("path", ACCELERATE_YAMLS, ids=lambda p: p.name)
def test_every_accelerate_config_parses_through_accelerate(path):
    from accelerate.commands.config.config_args import load_config_from_file

    cfg = load_config_from_file(str(path))
    assert cfg.num_processes >= 1 and cfg.compute_environment.value == "LOCAL_MACHINE"


def test_fsdp_wraps_a_layer_class_the_large_backbones_have():
    """FSDP's TRANSFORMER_BASED_WRAP must name a module class of hubert-large (stable layer norm), or it wraps nothing."""
    from transformers import HubertForSequenceClassification

    from hf_ser.modeling.loading import tiny_hubert_config

    wrap = yaml.safe_load((REPO / "recipes/accelerate_configs/fsdp.yaml").read_text())["fsdp_config"]
    config = tiny_hubert_config(hidden_size=32, num_layers=2, do_stable_layer_norm=True, feat_extract_norm="layer")
    classes = {type(m).__name__ for m in HubertForSequenceClassification(config).modules()}
    assert wrap["fsdp_transformer_layer_cls_to_wrap"] in classes


def test_flags_override_yaml_and_unknown_keys_fail(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("peft: qkv\nlora_r: 4\noutput_dir: x\nlearning_rate: 1.0e-4\n")
    m, d, t, _ = parse_recipe_args(["--config", str(cfg), "--lora_r", "16", "--protocol", "speaker"])
    assert (m.peft, m.lora_r, d.protocol, t.learning_rate) == ("qkv", 16, "speaker", 1e-4)
    cfg.write_text("peft: qkv\nlora_rank: 4\noutput_dir: x\n")
    with pytest.raises(ConfigError, match="unknown key\\(s\\) lora_rank"):
        parse_recipe_args(["--config", str(cfg)])
    with pytest.raises(ConfigError, match="file not found"):
        parse_recipe_args(["--config", str(tmp_path / "none.yaml")])
    with pytest.raises(ConfigError, match="--output_dir is required"):
        parse_recipe_args([])


def test_cli_rejects_unknown_method_and_flag(capsys):
    with pytest.raises(SystemExit) as e:
        train_recipe.main(["--output_dir", "x", "--peft", "prefix"])
    assert e.value.code == 2 and "--peft: invalid choice: 'prefix'" in capsys.readouterr().err
    assert train_recipe.main(["--output_dir", "x", "--lora_rank", "4"]) == 2
    assert "error: unknown flag(s) --lora_rank" in capsys.readouterr().err
    assert train_recipe.main(["--output_dir", "x", "--load_best_model_at_end", "true", "--eval_strategy", "no"]) == 2
    assert "error: " in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------------------------
# Runs
# ------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["none", "qkv", "classifier"])
def test_each_method_writes_a_pipeline_loadable_run_folder(demo_dataset, tmp_path, method):
    from huggingface_hub import ModelCard
    from transformers import pipeline

    out = tmp_path / method
    assert _run(demo_dataset, out, "--peft", method, "--max_steps", "4", "--eval_strategy", "no",
                "--save_strategy", "no", "--load_best_model_at_end", "false") == 0  # fmt: skip
    for name in ("config.json", "model.safetensors", "preprocessor_config.json", "results.json",
                 "confusion_matrix.png", "README.md"):  # fmt: skip
        assert (out / name).is_file(), name
    assert (out / "adapter" / "adapter_config.json").is_file() == (method == "qkv")
    results = json.loads((out / "results.json").read_text())
    assert results["method"] == method and results["train_steps"] == 4 and results["protocol"] == "speaker"
    assert 0 < results["params"]["trainable"] <= results["params"]["total"]
    for split in ("validation", "test"):
        r = results[split]
        assert {"accuracy", "f1_macro", "f1_weighted", "uar", "eer", "eer_micro", "confusion_matrix",
                "per_corpus_accuracy"} <= set(r)  # fmt: skip
        assert r["num_samples"] == sum(map(sum, r["confusion_matrix"]))
    card = (out / "README.md").read_text()
    assert "model-index" in card and "pipeline_tag: audio-classification" in card and "transformers " in card
    data = ModelCard.load(out / "README.md").data
    metrics = data.eval_results
    assert {m.metric_type for m in metrics} == {"accuracy", "f1", "recall", "eer"}  # standard ids (UAR: macro recall)
    assert {m.metric_args.get("average") for m in metrics if m.metric_type in ("f1", "recall")} == {"macro"}
    assert {m.dataset_type for m in metrics} == {demo_dataset.name}  # named, not a local path
    assert data.language == ["en"] and "none" not in data.tags
    assert {"none": "full-fine-tuning", "qkv": "lora", "classifier": "classifier-only"}[method] in data.tags
    assert "Scoring it reproducibly" in card  # the group-norm encoder normalises over padding: the card says so
    clf = pipeline("audio-classification", model=str(out))
    preds = clf(np.random.default_rng(0).normal(size=24000).astype(np.float32) * 0.1, top_k=8)
    assert sorted(p["label"] for p in preds) == sorted(EMOTIONS)


def test_four_label_local_checkpoint_fine_tunes_to_eight_labels(demo_dataset, tmp_path):
    from transformers import HubertForSequenceClassification, Wav2Vec2FeatureExtractor

    from hf_ser.modeling.loading import tiny_hubert_config

    ckpt = tmp_path / "superb-er-like"
    cfg = tiny_hubert_config(hidden_size=32, num_layers=2, num_labels=4, id2label={0: "neu", 1: "hap", 2: "ang", 3: "sad"},
                             label2id={"neu": 0, "hap": 1, "ang": 2, "sad": 3})  # fmt: skip
    HubertForSequenceClassification(cfg).save_pretrained(ckpt)
    Wav2Vec2FeatureExtractor(return_attention_mask=True).save_pretrained(ckpt)
    out = tmp_path / "run"
    assert _run(demo_dataset, out, "--model_name_or_path", str(ckpt), "--peft", "qkv", "--max_steps", "2",
                "--eval_strategy", "no", "--save_strategy", "no", "--load_best_model_at_end", "false") == 0  # fmt: skip
    saved = json.loads((out / "config.json").read_text())
    assert saved["id2label"] == {str(i): e for i, e in enumerate(EMOTIONS)}
    assert json.loads((out / "results.json").read_text())["model"] == str(ckpt)


def test_clip_lengths_follow_a_non_contiguous_selection(demo_dataset):
    from hf_ser.data.layout import load_eight_emotions
    from hf_ser.data.transforms import clip_lengths

    subset = load_eight_emotions(str(demo_dataset), "speaker")["train"].select([5, 3, 1])
    expected = [round(min(d, 1.0) * 16_000) for d in subset["duration"]]
    assert clip_lengths(subset, 1.0) == expected


def test_interrupted_run_resumes_to_the_same_step_count(demo_dataset, tmp_path, monkeypatch):
    from transformers import TrainerCallback

    import hf_ser.training.run as training

    args = ("--max_steps", "8", "--eval_strategy", "steps", "--eval_steps", "4", "--save_strategy", "steps",
            "--save_steps", "4", "--seed", "7")  # fmt: skip

    class Interrupt(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 6:
                raise KeyboardInterrupt

    real = training.make_trainer

    def interrupted(*a, **k):
        trainer = real(*a, **k)
        trainer.add_callback(Interrupt())
        return trainer

    out = tmp_path / "run"
    monkeypatch.setattr(training, "make_trainer", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _run(demo_dataset, out, *args)
    assert (out / "checkpoint-4").is_dir() and not (out / "results.json").exists()
    monkeypatch.setattr(training, "make_trainer", real)
    assert _run(demo_dataset, out, *args, "--resume_from_checkpoint", "last") == 0
    resumed = json.loads((out / "results.json").read_text())
    state = json.loads((out / "checkpoint-8" / "trainer_state.json").read_text())
    assert resumed["train_steps"] == 8 == state["global_step"]
    steps_logged = [h["step"] for h in state["log_history"] if "loss" in h]
    assert steps_logged == [2, 4, 6, 8]  # steps 1-4 from the first run, 5-8 after resuming: none twice


def test_evaluate_recipe_scores_a_checkpoint_and_compares_runs(demo_dataset, tmp_path, capsys):
    run = tmp_path / "run"
    assert _run(demo_dataset, run, "--max_steps", "2", "--eval_strategy", "no", "--save_strategy", "no",
                "--load_best_model_at_end", "false") == 0  # fmt: skip
    scored = tmp_path / "scored"
    assert eval_recipe.main(["score", "--model", str(run), "--dataset", str(demo_dataset), "--protocol", "speaker",
                                 "--split", "test", "--output_dir", str(scored)]) == 0  # fmt: skip
    a = json.loads((run / "results.json").read_text())["test"]
    b = json.loads((scored / "results.json").read_text())["test"]
    assert b["accuracy"] == pytest.approx(a["accuracy"]) and b["confusion_matrix"] == a["confusion_matrix"]
    assert (scored / "confusion_matrix.png").is_file()
    capsys.readouterr()
    assert eval_recipe.main(["compare", str(run), str(scored), "--output", str(tmp_path / "t.md")]) == 0
    table = (tmp_path / "t.md").read_text()
    assert table.count("\n| ") == 3 and "| F1 (macro) | EER | accuracy (%) |" in table
    assert "[" in table.splitlines()[2]  # the 95% interval next to each metric


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("missing_folder", "no such folder, and not a Hub id"),
        ("not_a_checkpoint", "not a transformers checkpoint"),
        ("hub_offline", "hf download me/ser --local-dir DIR"),
    ],
)
def test_score_bad_model_one_line_error(demo_dataset, tmp_path, capsys, monkeypatch, case, match):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = {"missing_folder": str(tmp_path / "nope"), "not_a_checkpoint": str(tmp_path), "hub_offline": "me/ser"}
    argv = ["score", "--model", model[case], "--dataset", str(demo_dataset), "--output_dir", str(tmp_path / "o")]
    assert eval_recipe.main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err and not (tmp_path / "o").exists()


# ------------------------------------------------------------------------------------------------------------------
# Bad input: a clear error before any training, non-zero exit
# ------------------------------------------------------------------------------------------------------------------
def _bad_dataset(tmp_path, demo_dataset, *, drop_split=None, drop_column=None) -> Path:
    from hf_ser.data.layout import load_eight_emotions

    dd = load_eight_emotions(str(demo_dataset), "speaker")
    out = tmp_path / "bad"
    for split, ds in dd.items():
        if split == drop_split:
            continue
        if drop_column:
            ds = ds.remove_columns(drop_column)
        (out / "speaker").mkdir(parents=True, exist_ok=True)
        ds.to_parquet(str(out / "speaker" / f"{split}-00000-of-00001.parquet"))
    return out


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("missing_dataset", "no such file or folder, and not a Hub id"),
        ("missing_split", "missing split(s) ['validation']"),
        ("missing_column", "missing column(s) ['label']"),
        ("wrong_protocol", "has no 'random' config"),
        ("hub_dataset_offline", "as a Hub id it cannot be loaded (the Hub is unreachable offline"),
        ("hub_model_offline", "hf download superb/hubert-large-superb-er"),
        ("push_offline", "HF_HUB_OFFLINE is set"),
        ("push_without_id", "--push_to_hub needs --hub_model_id"),
    ],
)
def test_bad_input_fails_before_training(demo_dataset, tmp_path, capsys, monkeypatch, case, match):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "out"
    dataset, extra = demo_dataset, []
    if case == "wrong_protocol":
        dataset = _bad_dataset(tmp_path, demo_dataset)  # holds only the speaker config
    elif case == "missing_dataset":
        dataset = tmp_path / "nope"
    elif case == "missing_split":
        dataset = _bad_dataset(tmp_path, demo_dataset, drop_split="validation")
    elif case == "missing_column":
        dataset = _bad_dataset(tmp_path, demo_dataset, drop_column="label")
    elif case == "hub_dataset_offline":
        dataset = "hf_ser/eight_emotions"
    elif case == "hub_model_offline":
        extra = ["--model_name_or_path", "superb/hubert-large-superb-er"]
    elif case == "push_offline":
        extra = ["--push_to_hub", "true", "--hub_model_id", "me/ser"]
    elif case == "push_without_id":
        extra = ["--push_to_hub", "true"]
    argv = ["--dataset", str(dataset), "--protocol", "random" if case == "wrong_protocol" else "speaker",
            "--output_dir", str(out), *TINY, *extra, "--max_steps", "1"]  # fmt: skip
    assert train_recipe.main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err
    assert not list(out.glob("checkpoint-*")) and not (out / "results.json").exists()


# ------------------------------------------------------------------------------------------------------------------
# Scale: two CPU processes, and the demo's own commands
# ------------------------------------------------------------------------------------------------------------------
def _env():
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1"}
    return env


def test_two_process_accelerate_run(demo_dataset, tmp_path):
    out = tmp_path / "ddp"
    cmd = [str(Path(sys.executable).parent / "accelerate"), "launch", "--config_file",
           str(REPO / "recipes/accelerate_configs/cpu_2proc.yaml"), str(REPO / "recipes/train.py"),
           "--dataset", str(demo_dataset), "--protocol", "speaker", "--output_dir", str(out), *TINY,
           "--max_steps", "3", "--eval_strategy", "no", "--save_strategy", "no", "--load_best_model_at_end", "false",
           "--max_batch_seconds", "8"]  # fmt: skip
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["world_size"] == 2 and results["train_steps"] == 3  # duration batches on 2 processes: no hang
    assert results["batching"]["kind"] == "duration"
    assert results["test"]["num_samples"] == sum(map(sum, results["test"]["confusion_matrix"]))
    for name in ("model.safetensors", "confusion_matrix.png", "README.md"):
        assert (out / name).is_file()


def test_demo_smoke_runs_the_readme_commands_reduced(tmp_path):
    """The `make demo` chain (synthesise -> build -> accelerate launch train) at a fraction of its size."""
    py, acc = sys.executable, str(Path(sys.executable).parent / "accelerate")
    corpora, ds, out = tmp_path / "corpora", tmp_path / "eight_emotions", tmp_path / "demo"
    steps = [
        [py, "dataset_scripts/synthesize_demo_corpora.py", "--out", str(corpora), "--scale", "1",
         "--ravdess-actors", "4", "--crema-d-actors", "4"],
        [py, "dataset_scripts/eight_emotions.py", *[x for c, f in (("ravdess", "--ravdess"), ("crema_d", "--crema-d"),
         ("tess", "--tess"), ("savee", "--savee")) for x in (f, str(corpora / c))], "--output", str(ds), "--num-proc", "2"],
        [acc, "launch", "--config_file", "recipes/accelerate_configs/cpu.yaml", "recipes/train.py", "--config",
         "recipes/demo/full.yaml", "--dataset", str(ds), "--output_dir", str(out), "--num_train_epochs", "1",
         "--tiny_hidden_size", "32", "--tiny_num_layers", "2", "--report_to", "none"],
    ]  # fmt: skip
    for cmd in steps:
        proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=600, cwd=REPO)
        assert proc.returncode == 0, (cmd, proc.stderr[-3000:])
    assert 'pipeline("audio-classification", model=' in proc.stdout
    results = json.loads((out / "results.json").read_text())
    assert results["protocol"] == "speaker" and results["test"]["num_samples"] > 0
