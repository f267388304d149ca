#!/usr/bin/env bash
# `make test`: the linters (scripts/lint.sh), a fresh database, the three
# addons installed, then
#   1. Odoo's own tests for the code our dependency pins touch,
#   2. the signing engine's tests (plain pytest, no Odoo),
#   3. the addons' tests through pytest-odoo, HTTP included, then every
#      addon's tests again under Odoo's own runner (as OCA's CI runs them),
#   4. every combination of the addons installed on its own (tests/install),
#   5. the small run of the reliability benchmark.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
DB="${CLOUDSTAMP_TEST_DB:-cloudstamp_test}"
LOGS="$VAR/test-logs"
rm -rf "$LOGS"; mkdir -p "$LOGS"
cd "$REPO"

bash "$REPO/scripts/lint.sh"

drop_db() {
  "$PYTHON" "$REPO/scripts/dbtool.py" "$ODOO_CONF" drop "$DB" "${DB}_base"
}
[ -n "${CLOUDSTAMP_KEEP_DB:-}" ] || trap drop_db EXIT
drop_db

say "Installing $ADDONS, Sales and Purchase (the bridges follow) into a fresh database '$DB'"
odoo_bin -c "$ODOO_CONF" -d "$DB" -i "$ADDONS,$APPS" --stop-after-init \
    --log-level=warn --logfile="$LOGS/install.log" \
  || { tail -n 40 "$LOGS/install.log"; fail "installing the addons failed (log: $LOGS/install.log)"; }
if grep -E ' (ERROR|CRITICAL) ' "$LOGS/install.log"; then
  fail "installing the addons logged errors (log: $LOGS/install.log)"
fi

# Odoo's pins for cryptography, pyOpenSSL and lxml are lifted for pyHanko:
# prove that the HTML sanitiser and the mail server / SSL code still work.
# They run in a base-only database, as Odoo runs them: some of base's test
# fixtures cannot create users once `mail` is installed.
say "Odoo's own tests for the lifted pins (sanitiser, mail server, SSL)"
ODOO_TAGS='/base:TestSanitizer,/base:TestHtmlTools,/base:TestEmailTools,/base:TestMailTools,/base:TestIrMailServer'
odoo_bin -c "$ODOO_CONF" -d "${DB}_base" -i base --test-tags "$ODOO_TAGS" --stop-after-init \
    --log-level=test --logfile="$LOGS/odoo-own-tests.log" || true
summary="$(grep -Eo '[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests' "$LOGS/odoo-own-tests.log" | tail -n1)"
echo "    Odoo: ${summary:-no summary}"
[[ "$summary" =~ ^0\ failed,\ 0\ error\(s\)\ of\ ([0-9]+) ]] && (( BASH_REMATCH[1] > 0 )) \
  || { grep -E 'FAIL|ERROR' "$LOGS/odoo-own-tests.log" | head -n 40; fail "Odoo's own tests failed (log: $LOGS/odoo-own-tests.log)"; }

say "Signing engine tests (no Odoo)"
"$PYTHON" -m pytest -p no:odoo -p no:cacheprovider -q cloudstamp_engine/tests

say "Addon and end-to-end tests (pytest-odoo, real HTTP)"
shopt -s nullglob
test_dirs=(addons/*/tests)
set +e
"$PYTHON" -m pytest -p no:cacheprovider -q \
    --odoo-config="$ODOO_CONF" --odoo-database="$DB" --odoo-http "${test_dirs[@]}"
rc=$?
set -e
# 5 = nothing collected: never a pass.
[ "$rc" = 0 ] || exit "$rc"

# Every addon's tests under Odoo's own runner too (as OCA's CI runs them):
# the installed addons, bridges included, so a test that only passes under
# one runner fails the build.
ALL_ADDONS="$ADDONS,$BRIDGES"
# Except the RPC surface walk (over 4,000 calls, about two minutes): it only
# speaks HTTP to the server, so the runner changes nothing for it, and the
# build must stay under 30 minutes. It runs once, in the pytest-odoo phase.
RUNNER_TAGS="/${ALL_ADDONS//,/,/},-/cloudstamp_archive:TestRpcSurface"
say "Every addon's tests under Odoo's own test runner ($RUNNER_TAGS)"
port="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
odoo_bin -c "$ODOO_CONF" -d "$DB" --test-tags "$RUNNER_TAGS" --stop-after-init --http-port="$port" \
    --log-level=test --logfile="$LOGS/odoo-runner.log" || true
summary="$(grep -Eo '[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests' "$LOGS/odoo-runner.log" | tail -n1)"
echo "    Odoo's runner: ${summary:-no summary}"
[[ "$summary" =~ ^0\ failed,\ 0\ error\(s\)\ of\ ([0-9]+) ]] && (( BASH_REMATCH[1] > 0 )) \
  || { grep -E 'FAIL|ERROR' "$LOGS/odoo-runner.log" | head -n 40; fail "tests under Odoo's runner failed (log: $LOGS/odoo-runner.log)"; }

# Each addon alone and in every combination, each in its own database:
# no installable combination may mail a dead link.
say "Addon combinations (install each, send, follow the mailed link)"
CLOUDSTAMP_COMBO_DB="${DB}_combo" "$PYTHON" -m pytest -p no:odoo -p no:cacheprovider -q tests/install

# Races, worker crashes, backup/restore and token guessing against a prefork
# server started as `make run` starts it: the small run of
# `make bench-reliability`, whose correctness checks fail the build.
say "Reliability, small run (prefork server, races, crashes, restore, guessing)"
"$PYTHON" bench/reliability.py --quick
