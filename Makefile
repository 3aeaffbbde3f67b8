# Two environments (DESIGN.md §7): .venv runs the pipeline (Dagster), .venv-fairseq runs fairseq,
# the judge of record, reached through Dagster Pipes and used as the reference in tests.
PYTHON ?= python3.11
VENV := .venv
FAIRSEQ_VENV := .venv-fairseq
SAMPLE := sample/owt
# The BPE files for the demo and tests: MM_GPT2_BPE_URL if set, else ../shared/gpt2_bpe where it
# exists, else the official URL (each file is verified against its pinned sha256 either way).
OFFICIAL_GPT2_BPE_URL := https://dl.fbaipublicfiles.com/fairseq/gpt2_bpe
GPT2_BPE_SOURCE := $(or $(MM_GPT2_BPE_URL),$(if $(wildcard ../shared/gpt2_bpe/encoder.json),$(abspath ../shared/gpt2_bpe),$(OFFICIAL_GPT2_BPE_URL)))

.PHONY: all venv venv-fairseq sample demo test test-fast bench clean
.PHONY: sample-imagenet-glue bench-loaders

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

# ImageNet and GLUE samples: mirrors in the hub layouts (issue 8).
sample-imagenet-glue: sample/imagenet/.generated
sample/imagenet/.generated: $(VENV)/.installed scripts/make_imagenet_glue_sample.py mm_assets/datasets/imagenet/mirror.py mm_assets/datasets/glue/mirror.py
	$(VENV)/bin/python scripts/make_imagenet_glue_sample.py --imagenet-out sample/imagenet --glue-out sample/glue
	touch $@

demo: venv venv-fairseq sample sample-imagenet-glue
	MM_GPT2_BPE_URL="$(GPT2_BPE_SOURCE)" VENV=$(VENV) SAMPLE=$(SAMPLE) bash scripts/demo.sh

test: venv venv-fairseq
	MM_TEST_GPT2_BPE="$(GPT2_BPE_SOURCE)" $(VENV)/bin/python -m pytest -ra $(PYTEST_ARGS)

# Everything but the end-to-end tests (marked e2e): under a minute, no fairseq environment needed.
test-fast: venv
	MM_TEST_GPT2_BPE="$(GPT2_BPE_SOURCE)" $(VENV)/bin/python -m pytest -ra -m "not e2e" $(PYTEST_ARGS)

bench: venv venv-fairseq
	MM_GPT2_BPE_URL="$(GPT2_BPE_SOURCE)" $(VENV)/bin/python benchmarks/owt_text.py $(BENCH_ARGS)

bench-loaders: venv
	$(VENV)/bin/python benchmarks/loaders.py $(BENCH_ARGS)

clean:
	rm -rf data/demo demo_home $(SAMPLE)
	rm -rf sample/imagenet sample/glue
