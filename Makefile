# Two commands do everything on a fresh machine (Python >= 3.11 with pip; torch is installed here):
#   make verify   set up .venv and run the oracle's report on the reference
#   make test     set up .venv and run every test, mypy --strict included
# Elsewhere, for torch's CPU build (README "Installing elsewhere"):
#   make test TORCH_INDEX=https://download.pytorch.org/whl/cpu
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PROFILE ?= quick
# An index to install torch==2.13.0 from before the rest (empty: pip's own configuration).
TORCH_INDEX ?=

.PHONY: verify test setup mypy pytest clean peers peers-setup

setup: $(STAMP)

# constraints.txt pins torch==2.13.0. On this project's machine pip finds a local CPU wheel of
# it; elsewhere on Linux PyPI serves the multi-GB CUDA build unless TORCH_INDEX names the CPU
# index (the CUDA build is what `rlhf --device cuda` needs).
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(if $(TORCH_INDEX),$(PY) -m pip install -q --disable-pip-version-check torch==2.13.0 --index-url $(TORCH_INDEX))
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev,plots]'
	touch $(STAMP)

verify: $(STAMP)
	$(PY) -m verification report --format md --profile $(PROFILE) --output reports/report.md --json reports/report.json

mypy: $(STAMP)
	$(PY) -m mypy

pytest: $(STAMP)
	$(PY) -m pytest

test: $(STAMP)
	$(PY) -m mypy
	$(PY) -m pytest

# The peer libraries (stable-baselines3, torchrl, rlax+jax, tianshou, TRL, verl, OpenRLHF; ~2.5 GB)
# go into a separate venv so that `make test` never depends on them.  `make peers` prints the
# matrix of SPEC.md §13.6 and exits non-zero on a disagreement that is not documented there.
# verl and OpenRLHF are installed with --no-deps: their requirements (ray, deepspeed, flash-attn,
# vllm, an older tensordict and transformers) cannot be met beside torch 2.13 CPU; their maths
# modules need only what the `peers` extra already brings plus omegaconf and codetiming (verl),
# and the adapters load them with the stand-ins of verification/adapters/_stub.py.
PEERS_VENV   := .venv-peers
PEERS_STAMP  := $(PEERS_VENV)/.installed-stamp
PEERS_NODEPS := verl==0.9.1 openrlhf==0.11.2
PEERS_SMALL  := omegaconf==2.3.0 codetiming==1.4.0

$(PEERS_STAMP): pyproject.toml constraints.txt Makefile
	test -x $(PEERS_VENV)/bin/python || $(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[peers]' $(PEERS_SMALL)
	$(PEERS_VENV)/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt --no-deps $(PEERS_NODEPS)
	touch $(PEERS_STAMP)

peers-setup: $(PEERS_STAMP)

PEERS_EXAMPLES ?= 200

# the matrix, then the reproducers of SPEC.md §13.6's practice-target findings
peers: $(PEERS_STAMP)
	$(PEERS_VENV)/bin/python -m verification peers --examples $(PEERS_EXAMPLES) --json reports/peers.json
	$(PEERS_VENV)/bin/python -m verification.adapters.findings

clean:
	rm -rf $(VENV) $(PEERS_VENV) reports .mypy_cache .pytest_cache .hypothesis
