# Two entry points: `make run` (main job on the embedded synthdance dataset) and `make test`.
# Both create .venv when it is missing. PyTorch is pinned here (users with their own CUDA build install motforge
# into their environment instead; pyproject.toml only states lower bounds).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: venv run test test-slurm test-fast lint bench clean chromium

$(BIN)/.motforge-installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q $(TORCH_PINS)
	$(BIN)/python -m pip install -q -e '.[test,depth,detect,slurm]'
	SAM2_BUILD_CUDA=0 $(BIN)/python -m pip install -q --no-build-isolation 'sam2>=1.1.0'
	touch $@

venv: $(BIN)/.motforge-installed

run: venv
	$(BIN)/snakemake --cores $(CORES)
	@echo "results/synthdance/hota.txt (the default model):"; cat results/synthdance/hota.txt
	@for m in results/synthdance/eval/*/; do printf '%-10s ' "$$(basename $$m)"; tail -n 1 $$m/hota.txt; done

VTEST := /usr/share/doc/opencv-doc/examples/data/vtest.avi

test: venv lint
	@if [ -n "$$CI" ]; then $(MAKE) chromium; \
	else command -v chromium >/dev/null || echo "NOT RUN here: the report's Chromium test (make chromium; CI runs it)"; fi
	@if [ -n "$$CI" ] && [ ! -f $(VTEST) ]; then apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq opencv-doc >/dev/null; fi  # vtest.avi: tests/test_video.py
	$(BIN)/python -m pytest -q -m "not slurm"
	@if [ -n "$$CI" ] || [ -n "$$MOTFORGE_SLURM_TEST" ]; then $(MAKE) test-slurm; \
	else echo "NOT RUN here: the local-SLURM end-to-end test (make test-slurm: needs root, installs Debian's slurm-wlm; CI runs it)"; fi

# Debian's headless browser for tests/test_report.py (the rendered report.html); needs root, like test-slurm.
chromium:
	command -v chromium >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# A single-node SLURM with accounting on localhost, then the workflow through the SLURM profile.
test-slurm: venv
	bash tests/slurm/start_local_slurm.sh
	$(BIN)/python -m pytest -q -m slurm

test-fast: venv
	$(BIN)/python -m pytest -q -m "not slow and not slurm"

# ruff (format and lint, 120 columns), the import layering (import-linter: no stage imports a later one), Snakemake's
# own lint; `make test` runs it first, so CI does too.
lint: venv
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports
	$(BIN)/snakemake --lint

bench: venv
	for b in depth_memory depth_storage masks detect loader train_step workflow_overhead index_check; do \
		echo "== bench/$$b.py"; $(BIN)/python bench/$$b.py || exit 1; done

clean:
	rm -rf results logs resources/synthdance .snakemake
