# CloudStamp for Odoo. See README.md.
PYTHON ?= python3
export PYTHON

.PHONY: setup run test lint bench bench-reliability clean

setup:            ## install whatever is missing, start PostgreSQL, write var/odoo.conf
	@bash scripts/setup.sh

run: setup        ## Odoo on http://localhost:8069, database `cloudstamp`
	@bash scripts/run.sh

test: setup       ## fresh database, every test
	@bash scripts/test.sh

lint: setup       ## ruff and pylint-odoo (OCA's checks, tuned: ruff.toml, .pylintrc)
	@bash scripts/lint.sh

bench: setup      ## signing vs stock pyHanko, end to end over HTTP, archive search and export, bulk send
	@$(PYTHON) bench/bench_engine.py
	@$(PYTHON) bench/bench_e2e.py
	@$(PYTHON) bench/bench_archive.py
	@$(PYTHON) bench/bench_bulk.py

bench-reliability: setup  ## load, races, crashes, backup/restore, token guessing (RELIABILITY_ARGS=--quick for CI)
	@$(PYTHON) bench/reliability.py $(RELIABILITY_ARGS)

clean:            ## drop generated config, logs and filestore (not databases, not var/secrets)
	find var -mindepth 1 -maxdepth 1 ! -name secrets -exec rm -rf {} + 2>/dev/null || true
