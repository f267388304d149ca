# Shared by the scripts in this folder: paths, messages, the Odoo config.
# shellcheck shell=bash

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR="${CLOUDSTAMP_VAR:-$REPO/var}"
PYTHON="${PYTHON:-python3}"
ODOO_CONF="$VAR/odoo.conf"
ADDONS="cloudstamp_sign,cloudstamp_archive,cloudstamp_portal"
# Odoo's Sales and Purchase (Invoicing comes with them): the bridges
# cloudstamp_sale, cloudstamp_purchase and cloudstamp_account install
# themselves beside them.
APPS="sale_management,purchase"
BRIDGES="cloudstamp_sale,cloudstamp_purchase,cloudstamp_account"

say()  { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
fail() { printf '\n\033[1;31mCloudStamp setup: %s\033[0m\n' "$*" >&2; exit 1; }

# Odoo's own launcher, next to the interpreter. Not `python -m odoo`: with
# --workers, Odoo starts its gevent process by running sys.argv[0] again,
# and odoo/__main__.py cannot run on its own (a crash loop).
odoo_command() {
  local launcher
  launcher="$("$PYTHON" -c 'import os, sys; print(os.path.join(os.path.dirname(sys.executable), "odoo"))')"
  if [ -f "$launcher" ]; then ODOO_COMMAND=("$PYTHON" "$launcher"); else ODOO_COMMAND=("$PYTHON" -m odoo); fi
}
odoo_bin() { odoo_command; "${ODOO_COMMAND[@]}" "$@"; }
odoo_exec() { odoo_command; exec "${ODOO_COMMAND[@]}" "$@"; }
