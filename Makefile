# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := demo
PEOPLE ?= 100000
REQUESTS ?= 1000
# The demo's own operational store, and a demo reviewer: nothing leaves until a reviewer approves.
DEMO_REVIEWER := Demo Reviewer
DEMO_ENV := TINMATCH_DATABASE_URL=sqlite:///$(DEMO)/state.sqlite TINMATCH_REVIEWER_PASSWORD=demo-reviewer-passphrase
# The requester named in the cover letter `tinmatch synth` writes (registered before processing).
DEMO_AGENCY := U.S. Immigration and Customs Enforcement (synthetic test request)
DEMO_OFFICIAL := Jane Q. Example, Special Agent in Charge (synthetic)

.PHONY: install demo test lint typecheck clean mutation

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "error: $(PY) not found (need Python 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,web,postgres,spark]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/tinmatch synth --people $(PEOPLE) --requests $(REQUESTS) --seed 7 --out $(DEMO)/data
	$(BIN)/tinmatch load-master --taxpayers $(DEMO)/data/taxpayers.parquet --returns $(DEMO)/data/returns.parquet --db $(DEMO)/master.duckdb
	rm -rf $(DEMO)/result $(DEMO)/state.sqlite
	$(DEMO_ENV) $(BIN)/tinmatch agencies add --exist-ok "$(DEMO_AGENCY)"
	$(DEMO_ENV) $(BIN)/tinmatch officials add --exist-ok "$(DEMO_OFFICIAL)" --agency "$(DEMO_AGENCY)"
	$(DEMO_ENV) $(BIN)/tinmatch reviewers add "$(DEMO_REVIEWER)"
	$(DEMO_ENV) $(BIN)/tinmatch process $(DEMO)/data/request.xlsx --cover $(DEMO)/data/cover.toml --db $(DEMO)/master.duckdb --out $(DEMO)/result
	$(DEMO_ENV) $(BIN)/tinmatch review approve $$($(BIN)/python -c "import json; print(json.load(open('$(DEMO)/result/status.json'))['request_id'])") --reviewer "$(DEMO_REVIEWER)" --note "demo: rows checked with review show"
	$(BIN)/tinmatch evaluate --truth $(DEMO)/data/truth.csv --results $(DEMO)/result

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python tools/cli_docs.py --check
	$(BIN)/python tools/ref_docs.py --check

test: $(STAMP) lint
	$(BIN)/python -m pytest -q

# Mutation testing of the guardrail modules ([tool.mutmut] in pyproject.toml; docs/testing.md).
# Slow, not in CI. MUTANTS narrows the run, e.g. make mutation MUTANTS='tinmatch.neutralize*'.
# Niced, and MUTATION_JOBS test processes at once (the machine is shared).
MUTANTS ?=
MUTATION_JOBS ?= 2
mutation: $(STAMP)
	nice -n 19 $(BIN)/mutmut run --max-children $(MUTATION_JOBS) $(MUTANTS)
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
