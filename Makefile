# Two commands do everything on a fresh machine with python3:
#   make run   executes every notebook on the real MovieLens 100K (downloading it first)
#   make test  unit tests + every notebook under nbval (offline, synthetic data unless ML100K_DIR is set)
# `make assignments` writes the graded student notebooks, Gradescope autograders and solutions (dist/).
# Each creates its own virtual environment in .venv from the pinned requirements.
# `make book` renders the executed notebooks as a website (its own environment, .venv-book) and
# `make book-test` checks it in headless Chromium.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
SOLUTIONS := $(sort $(wildcard notebooks/solutions/*.ipynb))
BOOK_VENV ?= .venv-book
BOOK_BIN := $(BOOK_VENV)/bin
BOOK_STAMP := $(BOOK_VENV)/.installed
BOOK_BUILD := book/_build
CHROMIUM ?= /usr/bin/chromium
export PYTHONPATH := $(CURDIR)

.PHONY: help venv data run test lint bench bench-scale bench-gpu lab assignments book book-test clean

help:
	@echo "make run        execute every notebook on the real data, saving outputs (downloads it first)"
	@echo "make test       unit tests and every notebook under nbval (quick setting)"
	@echo "make bench      training benchmark, one JSON line per recipe"
	@echo "make bench-scale the measured ladder (ML-100K to ML-25M shapes): seconds and peak MB, one JSON line per size"
	@echo "make bench-gpu  the GPU benchmark, with the python3 that has CUDA torch and PyG (no venv)"
	@echo "make lab        JupyterLab with this environment"
	@echo "make assignments student notebooks, Gradescope autograder zips and solutions in dist/ (otter-grader)"
	@echo "make book       the executed notebooks as a website in book/_build/html (nothing re-run, no network);"
	@echo "                STUDENT=1: graded answers blanked, answer keys left out"
	@echo "make book-test  open every page of the book in headless Chromium; screenshots in artifacts/book/"
	@echo "make lint       ruff on utils/, tests/ and the notebooks"
	@echo "make data       download MovieLens 100K into data/ml-100k"
	@echo "make clean      remove the environment, caches and checkpoints (keeps the download)"

$(STAMP): requirements.txt requirements-dev.txt requirements-assign.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(STAMP)

data: $(STAMP)
	$(BIN)/python -m utils.data

# Saved outputs are read on GitHub: progress bars are printed once, finished (utils/progress.py).
# LIGHTGCN_CHECK_CLAIMS: a sentence the run does not bear out stops it (utils.notebook.expect).
# MPLBACKEND unset: Jupyter's inline backend saves each figure (Agg would save none).
run: data
	env -u MPLBACKEND LIGHTGCN_SAVED_OUTPUT=1 LIGHTGCN_CHECK_CLAIMS=1 $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.timeout=3600 --ExecutePreprocessor.kernel_name=python3 $(NOTEBOOKS) $(SOLUTIONS)

test: $(STAMP)
	$(BIN)/python -m pytest -p tests.nbval_setup tests $(NOTEBOOKS) $(SOLUTIONS) --nbval-lax --nbval-current-env -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check utils tests notebooks

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-bench.txt
	$(BIN)/python -m utils.lab.bench $(BENCH_ARGS)

# Synthetic data of MovieLens shapes, each size in its own process (the README gives a measured run).
bench-scale: $(STAMP)
	$(BIN)/python -m utils.lab.bench_scale $(BENCH_SCALE_ARGS)

# No venv here: the venv pins torch's CPU build. $(PYTHON) must already have a CUDA build of torch
# and torch-geometric (README, "GPU or CPU").
bench-gpu:
	$(PYTHON) -m utils.lab.bench --device cuda --recipes original,default,pyg --count-launches $(BENCH_ARGS)

# Jupyter will not start as root (a Docker container) without --allow-root.
lab: $(STAMP)
	$(BIN)/python -m pip install --quiet jupyterlab==4.6.6
	$(BIN)/jupyter lab notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

# otter-grader (requirements-assign.txt, in this environment) writes them from the notebooks' graded
# questions; nothing tracked changes, nothing is downloaded.
assignments: $(STAMP)
	rm -rf dist
	$(BIN)/python -m utils.assignments.build --out dist

# The book: the notebooks as they were saved (never executed here), the README's text and results.
# Sphinx reads a copy laid out as the repository is (notebooks/NN_*.ipynb), so links between them hold.
$(BOOK_STAMP): requirements-book.txt
	$(PYTHON) -m venv $(BOOK_VENV)
	$(BOOK_BIN)/python -m pip install --quiet --upgrade pip
	$(BOOK_BIN)/python -m pip install --quiet -r requirements-book.txt
	touch $@

book: $(BOOK_STAMP)
	rm -rf $(BOOK_BUILD)
	mkdir -p $(BOOK_BUILD)/src
	cp -R book/*.md book/colab-badge.svg README.md notebooks $(BOOK_BUILD)/src/
	$(if $(filter 1,$(STUDENT)),$(BOOK_BIN)/python book/student.py $(BOOK_BUILD)/src)
	$(BOOK_BIN)/sphinx-build -q -W --keep-going -b html -c book $(BOOK_BUILD)/src $(BOOK_BUILD)/html
	@echo "The book is in $(BOOK_BUILD)/html (open index.html)"

# Needs Chromium at $(CHROMIUM) (Debian: apt-get install chromium); Playwright never downloads one.
book-test: $(BOOK_STAMP)
	$(BOOK_BIN)/python book/check_site.py --site $(BOOK_BUILD)/html --out artifacts/book --chromium $(CHROMIUM)

clean:
	rm -rf $(VENV) $(BOOK_VENV) $(BOOK_BUILD) dist .pytest_cache .ruff_cache data/checkpoints
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
