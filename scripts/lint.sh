#!/usr/bin/env bash
# `make lint`, and the first step of `make test`: the checks of
# .pre-commit-config.yaml on every file, without changing any. Non-zero on
# any finding.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO"
say "Lint: ruff (check and format) and pylint-odoo"
"$PYTHON" -m ruff check --no-fix .
"$PYTHON" -m ruff format --check .
"$PYTHON" -m pylint --rcfile=.pylintrc --disable=missing-readme addons
