# The two commands a newcomer needs are `make demo` and `make test` (see README.md).
.PHONY: setup demo test lint bench clean

setup:
	scripts/setup.sh

demo: setup
	.venv/bin/ash demo

test:
	scripts/test.sh

lint: setup
	.venv/bin/ruff check src tests plugins && .venv/bin/ruff format --check src tests plugins && .venv/bin/mypy && .venv/bin/lint-imports

bench: setup
	.venv/bin/ash bench

clean:
	rm -rf .venv .venv-py* inference-rs/target experiments/runs
