# Two environments (docs/environments.md): .venv runs the pipeline (Dagster), .venv-fairseq runs fairseq,
# the judge of record, reached through Dagster Pipes and used as the reference in tests.
PYTHON ?= python3.11
VENV := .venv
FAIRSEQ_VENV := .venv-fairseq
SAMPLE := sample/owt
CC3M_SAMPLE := sample/cc3m
COCO_VG_SAMPLE := sample/coco_vg
IMAGENET_SAMPLE := sample/imagenet
GLUE_SAMPLE := sample/glue
# The BPE files for the demo and tests: MM_GPT2_BPE_URL if set, else ../shared/gpt2_bpe where it
# exists, else the official URL (each file is verified against its pinned sha256 either way).
OFFICIAL_GPT2_BPE_URL := https://dl.fbaipublicfiles.com/fairseq/gpt2_bpe
GPT2_BPE_SOURCE := $(or $(MM_GPT2_BPE_URL),$(if $(wildcard ../shared/gpt2_bpe/encoder.json),$(abspath ../shared/gpt2_bpe),$(OFFICIAL_GPT2_BPE_URL)))

.PHONY: all lint venv venv-fairseq sample sample-owt sample-cc3m sample-coco-vg sample-imagenet-glue demo test test-fast bench bench-cc3m bench-captions bench-loaders clean

all: venv venv-fairseq

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml constraints/main.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c constraints/main.txt -e '.[test,deploy]'
	touch $@

venv-fairseq: $(FAIRSEQ_VENV)/.installed
$(FAIRSEQ_VENV)/.installed: constraints/fairseq.txt
	test -x $(FAIRSEQ_VENV)/bin/python || $(PYTHON) -m venv $(FAIRSEQ_VENV)
	$(FAIRSEQ_VENV)/bin/pip install --quiet --upgrade pip
	# torch first, from this machine's CPU wheel, so fairseq's build does not pull a CUDA build
	$(FAIRSEQ_VENV)/bin/pip install --quiet -c constraints/fairseq.txt torch==2.13.0
	$(FAIRSEQ_VENV)/bin/pip install --quiet -c constraints/fairseq.txt fairseq-fixed==0.12.3.1 dagster-pipes regex
	touch $@

# The bundled samples: generated in the upstream layouts, no network.
sample: sample-owt sample-cc3m sample-coco-vg sample-imagenet-glue
sample-owt: $(SAMPLE)/.generated
$(SAMPLE)/.generated: $(VENV)/.installed scripts/make_owt_sample.py mm_assets/samples/owt/mirror.py
	$(VENV)/bin/python scripts/make_owt_sample.py --out $(SAMPLE)
	touch $@
sample-cc3m: $(CC3M_SAMPLE)/.generated
$(CC3M_SAMPLE)/.generated: $(VENV)/.installed scripts/make_cc3m_sample.py mm_assets/samples/cc3m/sample.py
	$(VENV)/bin/python scripts/make_cc3m_sample.py --out $(CC3M_SAMPLE)
	touch $@
sample-coco-vg: $(COCO_VG_SAMPLE)/.generated
$(COCO_VG_SAMPLE)/.generated: $(VENV)/.installed scripts/make_coco_vg_sample.py mm_assets/samples/coco/mirror.py mm_assets/samples/vg/mirror.py mm_assets/samples/caption_text.py
	$(VENV)/bin/python scripts/make_coco_vg_sample.py --out $(COCO_VG_SAMPLE)
	touch $@

sample-imagenet-glue: $(IMAGENET_SAMPLE)/.generated
$(IMAGENET_SAMPLE)/.generated: $(VENV)/.installed scripts/make_imagenet_glue_sample.py mm_assets/samples/imagenet/mirror.py mm_assets/samples/glue/mirror.py
	$(VENV)/bin/python scripts/make_imagenet_glue_sample.py --imagenet-out $(IMAGENET_SAMPLE) --glue-out $(GLUE_SAMPLE)
	touch $@

demo: venv venv-fairseq sample
	MM_GPT2_BPE_URL="$(GPT2_BPE_SOURCE)" VENV=$(VENV) SAMPLE=$(SAMPLE) CC3M_SAMPLE=$(CC3M_SAMPLE) \
		COCO_VG_SAMPLE=$(COCO_VG_SAMPLE) IMAGENET_SAMPLE=$(IMAGENET_SAMPLE) GLUE_SAMPLE=$(GLUE_SAMPLE) bash scripts/demo.sh

test: venv venv-fairseq lint
	MM_TEST_GPT2_BPE="$(GPT2_BPE_SOURCE)" $(VENV)/bin/python -m pytest -ra $(PYTEST_ARGS)

# The lint rules are in pyproject.toml ([tool.ruff]); both test targets run them first.
lint: venv
	$(VENV)/bin/ruff check .

# Everything but the end-to-end and other slow tests (marked e2e, slow): under a minute, no fairseq environment needed.
test-fast: venv lint
	MM_TEST_GPT2_BPE="$(GPT2_BPE_SOURCE)" $(VENV)/bin/python -m pytest -ra -m "not e2e and not slow" $(PYTEST_ARGS)

# Benchmarks against the named references (docs/benchmarks.md).
bench: venv venv-fairseq
	MM_GPT2_BPE_URL="$(GPT2_BPE_SOURCE)" $(VENV)/bin/python benchmarks/owt_text.py $(BENCH_ARGS)
# CC3M's image cache and availability check against img2dataset (its own venv, made if missing).
bench-cc3m: venv
	$(VENV)/bin/python benchmarks/cc3m_download.py $(BENCH_ARGS)
bench-captions: venv venv-fairseq
	MM_GPT2_BPE_URL="$(GPT2_BPE_SOURCE)" $(VENV)/bin/python benchmarks/captions.py $(BENCH_ARGS)
bench-loaders: venv
	$(VENV)/bin/python benchmarks/loaders.py $(BENCH_ARGS)

clean:
	rm -rf data/demo demo_home $(SAMPLE) $(CC3M_SAMPLE) $(COCO_VG_SAMPLE) $(IMAGENET_SAMPLE) $(GLUE_SAMPLE)

# The pictures of the UI in the README and docs (docs/img/*.png): the browser test over the native deployment
# (PostgreSQL, code server, daemon, webserver; needs what `make test` needs) saves them there.
.PHONY: ui-screenshots
ui-screenshots: venv venv-fairseq
	MM_UI_SCREENSHOTS="$(abspath docs/img)" MM_TEST_GPT2_BPE="$(GPT2_BPE_SOURCE)" \
		$(VENV)/bin/python -m pytest -q -p no:cacheprovider mm_assets_tests/deploy/test_ui.py
