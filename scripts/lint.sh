#!/usr/bin/env bash
# `make lint`, and the first step of `make test`: the checks of
# .pre-commit-config.yaml on every file, without changing any. Non-zero on
# any finding.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"
say "Lint: ruff (check and format), pylint-odoo and OCA's module and translation checks"
"$PYTHON" -m ruff check --no-fix .
"$PYTHON" -m ruff format --check .
"$PYTHON" -m pylint --rcfile=.pylintrc --disable=missing-readme addons
# OCA's odoo-pre-commit-hooks (tuned in .oca_hooks.cfg): manifests, XML, CSV, .po
"$PYTHON" -m oca_pre_commit_hooks addons/*/
"$PYTHON" -c 'import sys; from oca_pre_commit_hooks.cli_po import main; sys.exit(main())' addons/*/i18n/*.po*
