# Two commands do everything on a fresh machine with python3:
#   make run   executes every notebook on the real MovieLens 100K (downloading it first)
#   make test  unit tests + every notebook under nbval (offline, synthetic data unless ML100K_DIR is set)
# Each creates its own virtual environment in .venv from the pinned requirements.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
SOLUTIONS := $(sort $(wildcard notebooks/solutions/*.ipynb))
export PYTHONPATH := $(CURDIR)

.PHONY: help venv data run test lint bench bench-scale bench-gpu lab clean

help:
	@echo "make run        execute every notebook on the real data, saving outputs (downloads it first)"
	@echo "make test       unit tests and every notebook under nbval (quick setting)"
	@echo "make bench      training benchmark, one JSON line per recipe"
	@echo "make bench-scale the measured ladder (ML-100K to ML-25M shapes): seconds and peak MB, one JSON line per size"
	@echo "make bench-gpu  the GPU benchmark, with the python3 that has CUDA torch and PyG (no venv)"
	@echo "make lab        JupyterLab with this environment"
	@echo "make lint       ruff on utils/, tests/ and the notebooks"
	@echo "make data       download MovieLens 100K into data/ml-100k"
	@echo "make clean      remove the environment, caches and checkpoints (keeps the download)"

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(STAMP)

data: $(STAMP)
	$(BIN)/python -m utils.data

# Saved outputs are read on GitHub: progress bars are printed once, finished (utils/progress.py).
run: data
	LIGHTGCN_SAVED_OUTPUT=1 $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=3600 --ExecutePreprocessor.kernel_name=python3 $(NOTEBOOKS) $(SOLUTIONS)

test: $(STAMP)
	$(BIN)/python -m pytest -p tests.nbval_setup tests $(NOTEBOOKS) $(SOLUTIONS) --nbval-lax --nbval-current-env -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check utils tests notebooks

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-bench.txt
	$(BIN)/python -m utils.bench $(BENCH_ARGS)

# Synthetic data of MovieLens shapes, each size in its own process (the README gives a measured run).
bench-scale: $(STAMP)
	$(BIN)/python -m utils.bench_scale $(BENCH_SCALE_ARGS)

# No venv here: the venv pins torch's CPU build. $(PYTHON) must already have a CUDA build of torch
# and torch-geometric (README, "GPU or CPU").
bench-gpu:
	$(PYTHON) -m utils.bench --device cuda --recipes original,default,pyg --count-launches $(BENCH_ARGS)

# Jupyter will not start as root (a Docker container) without --allow-root.
lab: $(STAMP)
	$(BIN)/python -m pip install --quiet jupyterlab==4.6.6
	$(BIN)/jupyter lab notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache data/checkpoints
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
