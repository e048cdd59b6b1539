# The two commands of the README: `make run` and `make test`.  Both set up what they need:
# a virtual environment in .venv from the pinned requirements.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all
DEMO_RAW := demo/raw
# `make run CONFIG=my.yaml` runs on your own data (raw_dir in my.yaml) instead of the demo.
CONFIG ?=

.PHONY: run test test-run lint format demo bench inspect clean report

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-installed: requirements-test.txt requirements.txt $(VENV)/.run-installed
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	touch $@

# The demo night: simulated raw frames shaped like the astropy guide's camera.
$(DEMO_RAW)/.complete: scripts/masterbias/synth.py $(VENV)/.run-installed
	rm -rf $(DEMO_RAW)
	PYTHONPATH=scripts $(BIN)/python -m masterbias.synth $(DEMO_RAW) \
		--camera palomar_lfc --biases 10 --flats 2 --lights 1
	touch $@

demo: $(DEMO_RAW)/.complete

# The small night of .test/config/config.yaml (the workflow catalog's habit).
TEST_RAW := .test/raw
$(TEST_RAW)/.complete: scripts/masterbias/synth.py $(VENV)/.run-installed
	rm -rf $(TEST_RAW)
	PYTHONPATH=scripts $(BIN)/python -m masterbias.synth $(TEST_RAW) \
		--camera small --biases 5 --flats 1 --lights 1 --no-compress
	touch $@

TEST_RUN = $(BIN)/snakemake --snakefile Snakefile --directory .test \
	--configfile .test/config/config.yaml

test-run: $(TEST_RAW)/.complete
	$(TEST_RUN) --cores $(CORES)

ifeq ($(CONFIG),)
run: $(DEMO_RAW)/.complete
	$(BIN)/snakemake --cores $(CORES)
else
run: $(VENV)/.run-installed
	PYTHONPATH=scripts $(BIN)/python -m masterbias.config --check config/config.yaml $(CONFIG)
	$(BIN)/snakemake --cores $(CORES) --configfile $(CONFIG)
endif

# The report test renders the HTML report with headless Chromium (Debian's chromium);
# as root it is installed when missing, otherwise that test says how (and fails under CI).
test: $(VENV)/.test-installed
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		chromium >/dev/null) || echo "chromium not installed: the report test needs it"; }
	$(BIN)/python -m pytest

# The workflow (as `make run`), then its HTML report in out_dir: figures, tables, captions.
OUT_DIR = $(shell $(BIN)/python -c "import sys, yaml; dirs = [yaml.safe_load(open(f)).get('out_dir') \
	for f in sys.argv[1:]]; print([d for d in dirs if d][-1])" config/config.yaml $(CONFIG))
report: run
	$(BIN)/snakemake $(if $(CONFIG),--configfile $(CONFIG)) --report $(OUT_DIR)/report.html

lint: $(VENV)/.test-installed $(TEST_RAW)/.complete
	$(TEST_RUN) --lint
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/ruff check scripts tests benchmarks
	$(BIN)/ruff format --check scripts tests benchmarks

format: $(VENV)/.test-installed
	$(BIN)/snakefmt Snakefile rules
	$(BIN)/ruff format scripts tests benchmarks

clean:
	rm -rf results demo .snakemake .test/raw .test/results .test/.snakemake

# The benchmark of docs/performance.md: the workflow side by side with the guide's
# ccdproc code and, where it can be installed (Debian's iraf, iraf-noao), IRAF.
bench: $(VENV)/.test-installed
	@command -v irafcl >/dev/null || { [ "$$(id -u)" = 0 ] && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		iraf iraf-noao >/dev/null) || echo "IRAF not installed: benchmarking without it"; }
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

# The overscan inspector: make inspect FRAMES="raw/a.fits raw/b.fits" REGION="[2049:2080,*]"
REGION ?= header
inspect: $(VENV)/.run-installed
	PYTHONPATH=scripts $(BIN)/python -m masterbias.inspect_overscan $(FRAMES) \
		--region "$(REGION)" --out $(or $(OUT),overscan_inspection)
