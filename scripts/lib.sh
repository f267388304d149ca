# Shared by the scripts in this folder: paths, messages, the Odoo config.
# shellcheck shell=bash

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR="${CLOUDSTAMP_VAR:-$REPO/var}"
PYTHON="${PYTHON:-python3}"
ODOO_CONF="$VAR/odoo.conf"
ADDONS="cloudstamp_sign,cloudstamp_archive,cloudstamp_portal"

say()  { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
fail() { printf '\n\033[1;31mCloudStamp setup: %s\033[0m\n' "$*" >&2; exit 1; }

odoo_bin() { "$PYTHON" -m odoo "$@"; }
