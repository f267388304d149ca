#!/usr/bin/env bash
# Set up whatever is missing to run or test CloudStamp, then write
# var/odoo.conf. Safe to run again: every step checks before it acts.
#
# Environment:
#   PYTHON        the interpreter to use (default python3; 3.11 or 3.12)
#   ODOO_SOURCE   where to install Odoo 18.0 from when `import odoo` fails:
#                 a path or URL pip understands (default: the official
#                 18.0 nightly source archive)
#   PGHOST PGPORT PGUSER PGPASSWORD
#                 an existing PostgreSQL server; without them the local
#                 cluster is started and a `cloudstamp` role created
set -euo pipefail
source "$(dirname "$0")/lib.sh"
mkdir -p "$VAR"

ODOO_SOURCE="${ODOO_SOURCE:-https://nightly.odoo.com/18.0/nightly/src/odoo_18.0.latest.tar.gz}"

# --- Python -----------------------------------------------------------------
"$PYTHON" - <<'PY' || fail "Python 3.11 or 3.12 is required (PYTHON=$PYTHON)."
import sys
sys.exit(0 if sys.version_info[:2] in ((3, 11), (3, 12)) else 1)
PY

# --- Debian packages the tests need -------------------------------------------
need_debs=()
command -v pdfsig   >/dev/null || need_debs+=(poppler-utils)
command -v qpdf     >/dev/null || need_debs+=(qpdf)
command -v certutil >/dev/null || need_debs+=(libnss3-tools)
command -v openssl  >/dev/null || need_debs+=(openssl)
# Odoo prints quotations, orders and invoices to PDF with it (send for agreement)
command -v wkhtmltopdf >/dev/null || need_debs+=(wkhtmltopdf)
# Odoo tours (the recipient pages in a real browser)
command -v chromium >/dev/null || command -v google-chrome >/dev/null \
  || command -v chromium-browser >/dev/null || need_debs+=(chromium)
fc-list :lang=ja 2>/dev/null | grep -q . || need_debs+=(fonts-ipafont fonts-ipaexfont)
# A PKCS#11 token in software: the tests of signing keys kept in hardware
command -v softhsm2-util >/dev/null || need_debs+=(softhsm2)
if ((${#need_debs[@]})); then
  say "Installing Debian packages: ${need_debs[*]}"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_debs[@]}"; } \
      >"$VAR/apt.log" 2>&1 || fail "apt-get could not install ${need_debs[*]} (see $VAR/apt.log)."
  else
    fail "missing Debian packages: ${need_debs[*]}. Install them (sudo apt-get install ${need_debs[*]}) and retry."
  fi
fi

# --- Python dependencies --------------------------------------------------------
pyver="$("$PYTHON" -c 'import sys;print("%d%d" % sys.version_info[:2])')"
stamp="$VAR/.requirements.$pyver.sha256"
wanted="$(cat "$REPO"/requirements*.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  say "Installing Python dependencies (requirements-test.txt, requirements-lint.txt)"
  "$PYTHON" -m pip install -q --disable-pip-version-check -r "$REPO/requirements-test.txt" \
      >"$VAR/pip.log" 2>&1 || fail "pip could not install the requirements (see $VAR/pip.log)."
  "$PYTHON" -m pip install -q --disable-pip-version-check --no-deps -r "$REPO/requirements-lint.txt" \
      >>"$VAR/pip.log" 2>&1 || fail "pip could not install the lint tools (see $VAR/pip.log)."
  echo "$wanted" >"$stamp"
fi

# --- The signing engine ------------------------------------------------------------
# cloudstamp_engine/ (the engine and its test helpers), installed editable so
# that this clone's sources are what the addon, the tests and the benchmarks
# import. Reinstalled when missing, when installed from another clone, or
# when its pyproject.toml changed. find_spec locates without importing.
engine_src="$REPO/cloudstamp_engine/src"
engine_stamp="$VAR/.engine.$pyver.sha256"
engine_wanted="$(sha256sum <"$REPO/cloudstamp_engine/pyproject.toml" | cut -d' ' -f1)"
engine_here() {
  # -P: the current directory must not stand in for the installed package.
  "$PYTHON" -P - "$engine_src" <<'PY' 2>/dev/null
import sys
from importlib.util import find_spec
from pathlib import Path
src = Path(sys.argv[1]).resolve()
for name in ('cloudstamp_engine', 'cloudstamp_engine_testing'):
    spec = find_spec(name)
    if spec is None or spec.origin is None or src not in Path(spec.origin).resolve().parents:
        sys.exit(1)
PY
}
if [ "$(cat "$engine_stamp" 2>/dev/null)" != "$engine_wanted" ] || ! engine_here; then
  say "Installing the signing engine (editable: $REPO/cloudstamp_engine)"
  "$PYTHON" -m pip install -q --disable-pip-version-check -e "$REPO/cloudstamp_engine[testing]" \
      >"$VAR/pip-engine.log" 2>&1 || fail "pip could not install cloudstamp_engine (see $VAR/pip-engine.log)."
  engine_here || fail "cloudstamp_engine was installed but is not imported from $engine_src (see $VAR/pip-engine.log)."
  echo "$engine_wanted" >"$engine_stamp"
fi

# --- Odoo 18.0 --------------------------------------------------------------------
odoo_ok() {
  "$PYTHON" -c 'import odoo.release as r, sys; sys.exit(r.version_info[0] != 18)' 2>/dev/null
}
if ! odoo_ok; then
  say "Odoo 18.0 is not importable; installing it from $ODOO_SOURCE"
  if ! "$PYTHON" -m pip install -q --disable-pip-version-check --no-deps "$ODOO_SOURCE" \
       >"$VAR/odoo-install.log" 2>&1 || ! odoo_ok; then
    fail "Odoo 18.0 is missing and could not be installed from
  $ODOO_SOURCE
(details in $VAR/odoo-install.log). Without network access, point ODOO_SOURCE at
an Odoo 18.0 source tree or archive, for example:
  make test ODOO_SOURCE=/path/to/odoo-18.0"
  fi
fi
ODOO_ADDONS="$("$PYTHON" -c 'import odoo.addons, os; print(os.path.dirname(odoo.addons.__file__))')"
[ -d "$ODOO_ADDONS/base" ] || ODOO_ADDONS="$(dirname "$ODOO_ADDONS")/addons"

# --- PostgreSQL ---------------------------------------------------------------------
db_host="${PGHOST:-127.0.0.1}" db_port="${PGPORT:-5432}"
db_user="${PGUSER:-cloudstamp}" db_password="${PGPASSWORD:-cloudstamp}"
pg_ready() {
  PGPASSWORD="$db_password" "$PYTHON" - "$db_host" "$db_port" "$db_user" <<'PY' 2>/dev/null
import sys, psycopg2
host, port, user = sys.argv[1:]
import os
psycopg2.connect(host=host, port=int(port), user=user, dbname='postgres',
                 password=os.environ.get('PGPASSWORD'), connect_timeout=5).close()
PY
}
if ! pg_ready; then
  if [ -n "${PGHOST:-}" ]; then
    fail "PostgreSQL at $db_host:$db_port does not accept user $db_user (PGHOST is set, so no local server is started)."
  fi
  command -v pg_lsclusters >/dev/null \
    || fail "PostgreSQL is not installed. Install it (apt-get install postgresql) or set PGHOST/PGUSER/PGPASSWORD."
  cluster="$(pg_lsclusters --no-header | head -n1)"
  [ -n "$cluster" ] || fail "no PostgreSQL cluster exists. Create one (pg_createcluster 15 main) or set PGHOST."
  read -r version name port _ <<<"$cluster"
  db_port="$port"
  say "Starting PostgreSQL $version/$name on port $port"
  pg_ctlcluster "$version" "$name" start 2>/dev/null || true
  say "Ensuring role $db_user"
  su postgres -c "psql -p $port -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='$db_user'\"" | grep -q 1 \
    || su postgres -c "psql -p $port -qc \"CREATE ROLE $db_user LOGIN CREATEDB PASSWORD '$db_password'\""
  pg_ready || fail "PostgreSQL started, but user $db_user cannot log in on $db_host:$db_port."
fi

# --- Secrets (made once, kept across setups and `make clean`) -------------------
# The master password guards Odoo's database manager, which is disabled anyway
# (list_db = False). The CloudStamp master key encrypts the signing keys at rest
# and derives the recipients' links: it must never live in the database.
mkdir -p "$VAR/secrets"
chmod 700 "$VAR/secrets"
secret() {
  local file="$VAR/secrets/$1"
  [ -s "$file" ] || (umask 077; "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(32))' >"$file")
  cat "$file"
}
admin_passwd="${CLOUDSTAMP_MASTER_PASSWORD:-$(secret master-password)}"
master_key="${CLOUDSTAMP_MASTER_KEY:-$(secret cloudstamp-master-key)}"

# --- Odoo configuration ---------------------------------------------------------------
# http_interface: loopback unless told otherwise. Behind a reverse proxy set
# CLOUDSTAMP_PROXY_MODE=1: Odoo then takes the client address from the proxy's
# X-Forwarded-For, which is only safe while nobody can reach Odoo directly.
proxy_mode=False
[ -n "${CLOUDSTAMP_PROXY_MODE:-}" ] && [ "${CLOUDSTAMP_PROXY_MODE}" != 0 ] && proxy_mode=True
(umask 077; cat >"$ODOO_CONF" <<CONF
[options]
addons_path = $ODOO_ADDONS,$REPO/addons
data_dir = $VAR/data
db_host = $db_host
db_port = $db_port
db_user = $db_user
db_password = $db_password
admin_passwd = $admin_passwd
list_db = False
http_interface = ${ODOO_HTTP_INTERFACE:-127.0.0.1}
http_port = ${ODOO_HTTP_PORT:-8069}
proxy_mode = $proxy_mode
without_demo = all
cloudstamp_master_key = $master_key
CONF
)
say "Ready: $("$PYTHON" --version), Odoo $("$PYTHON" -c 'import odoo.release as r;print(r.version)'), PostgreSQL on $db_host:$db_port"
