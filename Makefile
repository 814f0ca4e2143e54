# hf-ser: every target runs in .venv, which `make install` creates on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.hf-ser-installed
export TOKENIZERS_PARALLELISM := false
export HF_HUB_DISABLE_TELEMETRY := 1

DEMO_DIR := data/demo
BACKBONE := models/tiny-hubert-ssl
ACCELERATE := $(BIN)/accelerate launch --config_file recipes/accelerate_configs/cpu.yaml recipes/train.py
.PHONY: install demo demo-own demo-matrix demo-compare pretrain app test test-slow quality style benchmark benchmark-gpu benchmark-build benchmark-smoke clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt scripts/install_system_deps.sh clients/js/package-lock.json
	bash scripts/install_system_deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, at the version constraints.txt pins (which build comes is the index's: see README).
	$(BIN)/python -m pip install -q -c constraints.txt torch
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev,tensorboard,app]"
	# transformers.js for the client test (install scripts skipped: the CPU runtime ships in the package)
	npm ci --prefix clients/js --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(STAMP)

# The main job: synthesise demo corpora, build the dataset, fine-tune the pretrained tiny backbone (models/, committed),
# evaluate on held-out speakers.
demo: install
	$(BIN)/python dataset_scripts/synthesize_demo_corpora.py --out $(DEMO_DIR)/corpora --overwrite
	$(BIN)/python dataset_scripts/eight_emotions.py --ravdess $(DEMO_DIR)/corpora/ravdess --crema-d $(DEMO_DIR)/corpora/crema_d \
		--tess $(DEMO_DIR)/corpora/tess --savee $(DEMO_DIR)/corpora/savee --output $(DEMO_DIR)/eight_emotions --overwrite
	$(ACCELERATE) --config recipes/demo/full.yaml

# Your own corpus: a German EmoDB-like corpus (seven labels, boredom among them) as a CSV manifest, fine-tuned with
# its own labels, scored on held-out speakers, one file predicted.
OWN_DIR := data/demo-own/emodb_like
demo-own: install
	$(BIN)/python dataset_scripts/synthesize_own_corpus.py --out $(OWN_DIR) --overwrite
	$(ACCELERATE) --config recipes/demo/own.yaml
	$(BIN)/python recipes/eval.py score --model outputs/demo-own --dataset $(OWN_DIR)/manifest.csv --protocol speaker \
		--output_dir outputs/demo-own-score
	$(BIN)/hf-ser predict $(OWN_DIR)/wav/03a01Wa.wav --model outputs/demo-own

# Any checkpoint x any corpus on the demo: make demo's model (the eight emotions) and make demo-own's (seven labels,
# boredom among them) on the held-out speakers of both demo datasets (each model's own config, so no test clip was
# trained on), shared labels only, 95% intervals over speakers; resumable.
demo-matrix: install
	test -f outputs/demo/results.json || $(MAKE) demo
	test -f outputs/demo-own/results.json || $(MAKE) demo-own
	$(BIN)/python recipes/eval.py matrix --models outputs/demo outputs/demo-own \
		--datasets $(DEMO_DIR)/eight_emotions:speaker $(OWN_DIR)/manifest.csv:speaker \
		--output_dir outputs/demo-matrix

# The paper's comparison on the demo: full (make demo's run), LoRA-QKV, LoRA all-linear and classifier-only from the
# pretrained backbone, the same from scratch beside them, then a Table-3 style table with 95% intervals.
demo-compare: install
	grep -qs '"model": "$(BACKBONE)"' outputs/demo/results.json || $(MAKE) demo
	for c in qkv all-linear classifier scratch/full scratch/qkv scratch/classifier; do \
		$(ACCELERATE) --config recipes/demo/$$c.yaml || exit 1; \
	done
	$(BIN)/python recipes/eval.py compare outputs/demo outputs/demo-qkv outputs/demo-all-linear outputs/demo-classifier \
		outputs/demo-scratch outputs/demo-scratch-qkv outputs/demo-scratch-classifier --output outputs/demo-comparison.md

# Re-create the committed pretrained backbone $(BACKBONE) bit for bit (about 15 min on 2 cores): unlabelled
# espeak-ng speech of voices the demo never uses, then HuBERT-style self-supervised pretraining.
pretrain: install
	$(BIN)/python dataset_scripts/synthesize_unlabelled.py --out data/pretrain/speech --overwrite
	$(BIN)/python recipes/pretrain.py --config recipes/pretrain/tiny-hubert.yaml

# The web demo on http://127.0.0.1:7860 (outputs/demo after `make demo`; MODEL=DIR_OR_HUB_ID for another).
app: install
	$(BIN)/python app.py $(if $(MODEL),--model $(MODEL),)

test: install
	TQDM_DISABLE=1 $(BIN)/python -m pytest -m "not slow" -q

test-slow: install
	TQDM_DISABLE=1 $(BIN)/python -m pytest -m slow -q

quality: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

style: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# CPU suite -> benchmarks/results/cpu.{json,md}; then, where torch sees a CUDA device, the GPU suite too.
benchmark: install
	$(BIN)/python -m pytest benchmarks -m "not cuda and not big_disk" -q --benchmark-enable --benchmark-json=benchmarks/results/cpu.json -p no:cacheprovider
	$(BIN)/python benchmarks/report.py benchmarks/results/cpu.json --output benchmarks/results/cpu.md
	@if $(BIN)/python -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then $(MAKE) benchmark-gpu; \
	else echo "no CUDA device: GPU suite not run (run make benchmark-gpu on a GPU machine)"; fi

# GPU suite -> benchmarks/results/gpu.{json,md}: fp32 + bf16 inference, bf16-autocast training steps, the pairs.
benchmark-gpu: install
	@$(BIN)/python -c "import sys, torch; torch.cuda.is_available() or sys.exit(f'error: torch {torch.__version__} sees no CUDA device; make benchmark-gpu needs one (a CUDA build of torch and a visible GPU)')"
	$(BIN)/python -m pytest benchmarks -m cuda -q --benchmark-enable --benchmark-json=benchmarks/results/gpu.json -p no:cacheprovider
	$(BIN)/python benchmarks/report.py benchmarks/results/gpu.json --output benchmarks/results/gpu.md

# The builder's peak memory on 5 h and 50 h synthetic corpora (about 8 min, 18 GB of temporary disk).
benchmark-build: install
	$(BIN)/python -m pytest benchmarks/test_build_memory.py -q --benchmark-enable --benchmark-json=benchmarks/results/cpu_build.json -p no:cacheprovider
	$(BIN)/python benchmarks/report.py benchmarks/results/cpu_build.json --output benchmarks/results/cpu_build.md

benchmark-smoke: install
	HF_SER_BENCH_SMOKE=1 $(BIN)/python -m pytest benchmarks -q --benchmark-enable --benchmark-disable-gc -p no:cacheprovider

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist
