#!/usr/bin/env bash
# `make run`: Odoo 18 on http://localhost:8069 with the addons installed in
# database `cloudstamp` (upgraded when it already exists).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
DB="${CLOUDSTAMP_DB:-cloudstamp}"
LOGIN="${CLOUDSTAMP_ADMIN_LOGIN:-admin}"
PASSWORD="${CLOUDSTAMP_ADMIN_PASSWORD:-admin}"
PORT="${ODOO_HTTP_PORT:-8069}"
# 0 = one threaded process, the simplest for a laptop. Production runs
# prefork workers (ODOO_WORKERS=4): the recipient pages and signing then use
# every core, and a crashed worker is replaced by the master.
WORKERS="${ODOO_WORKERS:-0}"

if "$PYTHON" "$REPO/scripts/dbtool.py" "$ODOO_CONF" exists "$DB"; then
  say "Upgrading $ADDONS and the bridges in database '$DB' (Sales and Purchase installed if missing)"
  odoo_bin -c "$ODOO_CONF" -d "$DB" -i "$ADDONS,$APPS" -u "$ADDONS,$BRIDGES" --stop-after-init --log-level=warn
else
  say "Creating database '$DB' with $ADDONS, Sales and Purchase"
  odoo_bin -c "$ODOO_CONF" -d "$DB" -i "$ADDONS,$APPS" --stop-after-init --log-level=warn
fi

# The administrator's login and password follow the environment.
odoo_bin shell -c "$ODOO_CONF" -d "$DB" --no-http --log-level=warn <<PY >/dev/null
admin = env.ref('base.user_admin')
admin.write({'login': """$LOGIN""", 'password': """$PASSWORD"""})
env.cr.commit()
PY

cat <<MSG

  CloudStamp is running:  http://localhost:$PORT  (workers: $WORKERS)
  Database: $DB   Login: $LOGIN   Password: $PASSWORD
  (Ctrl+C stops it)

MSG
# -d alone serves only $DB; a --db-filter would make Odoo open a new
# PostgreSQL connection on every request to list the databases.
odoo_exec -c "$ODOO_CONF" -d "$DB" --http-port="$PORT" --workers="$WORKERS" ${ODOO_EXTRA_ARGS:-}
