# Two environments (DESIGN.md §7): .venv runs the pipeline (Dagster), .venv-fairseq runs fairseq,
# the judge of record, reached through Dagster Pipes and used as the reference in tests.
PYTHON ?= python3.11
VENV := .venv
FAIRSEQ_VENV := .venv-fairseq
SAMPLE := sample/owt
CC3M_SAMPLE := sample/cc3m
# The BPE files for the demo and tests: MM_GPT2_BPE_URL if set, else ../shared/gpt2_bpe where it
# exists, else the official URL (each file is verified against its pinned sha256 either way).
OFFICIAL_GPT2_BPE_URL := https://dl.fbaipublicfiles.com/fairseq/gpt2_bpe
GPT2_BPE_SOURCE := $(or $(MM_GPT2_BPE_URL),$(if $(wildcard ../shared/gpt2_bpe/encoder.json),$(abspath ../shared/gpt2_bpe),$(OFFICIAL_GPT2_BPE_URL)))

.PHONY: all venv venv-fairseq sample demo test test-fast bench clean

all: venv venv-fairseq

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml constraints/main.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c constraints/main.txt -e '.[test]'
	touch $@

venv-fairseq: $(FAIRSEQ_VENV)/.installed
$(FAIRSEQ_VENV)/.installed: constraints/fairseq.txt
	test -x $(FAIRSEQ_VENV)/bin/python || $(PYTHON) -m venv $(FAIRSEQ_VENV)
	$(FAIRSEQ_VENV)/bin/pip install --quiet --upgrade pip
	# torch first, from this machine's CPU wheel, so fairseq's build does not pull a CUDA build
	$(FAIRSEQ_VENV)/bin/pip install --quiet -c constraints/fairseq.txt torch==2.13.0
	$(FAIRSEQ_VENV)/bin/pip install --quiet -c constraints/fairseq.txt fairseq-fixed==0.12.3.1 dagster-pipes regex
	touch $@

sample: $(SAMPLE)/.generated
$(SAMPLE)/.generated: $(VENV)/.installed scripts/make_owt_sample.py mm_assets/datasets/owt/mirror.py
	$(VENV)/bin/python scripts/make_owt_sample.py --out $(SAMPLE)
	touch $@

.PHONY: sample-cc3m bench-cc3m
sample-cc3m: $(CC3M_SAMPLE)/.generated
$(CC3M_SAMPLE)/.generated: $(VENV)/.installed scripts/make_cc3m_sample.py mm_assets/datasets/cc3m/sample.py
	$(VENV)/bin/python scripts/make_cc3m_sample.py --out $(CC3M_SAMPLE)
	touch $@

demo: venv venv-fairseq sample sample-cc3m
	MM_GPT2_BPE_URL="$(GPT2_BPE_SOURCE)" VENV=$(VENV) SAMPLE=$(SAMPLE) CC3M_SAMPLE=$(CC3M_SAMPLE) bash scripts/demo.sh

test: venv venv-fairseq
	MM_TEST_GPT2_BPE="$(GPT2_BPE_SOURCE)" $(VENV)/bin/python -m pytest -ra $(PYTEST_ARGS)

# Everything but the end-to-end tests (marked e2e): under a minute, no fairseq environment needed.
test-fast: venv
	MM_TEST_GPT2_BPE="$(GPT2_BPE_SOURCE)" $(VENV)/bin/python -m pytest -ra -m "not e2e" $(PYTEST_ARGS)

bench: venv venv-fairseq
	MM_GPT2_BPE_URL="$(GPT2_BPE_SOURCE)" $(VENV)/bin/python benchmarks/owt_text.py $(BENCH_ARGS)

# CC3M's image cache and availability check against img2dataset (its own venv, made if missing).
bench-cc3m: venv
	$(VENV)/bin/python benchmarks/cc3m_download.py $(BENCH_ARGS)

clean:
	rm -rf data/demo demo_home $(SAMPLE) $(CC3M_SAMPLE)
