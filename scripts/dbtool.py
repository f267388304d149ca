"""Database chores for the scripts and benchmarks, without Odoo's database
manager: `list_db = False` (see setup.sh) disables it, on purpose.

    python scripts/dbtool.py CONF exists DB   # exit 0 when DB exists
    python scripts/dbtool.py CONF drop DB...  # drop databases and their filestores
    python scripts/dbtool.py CONF copy SRC DST  # DST as a copy of SRC, filestore included
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import psycopg2
from psycopg2 import sql

from odoo.tools import config


def connect():
    params = {key: config[f'db_{key}'] for key in ('host', 'port', 'user', 'password') if config[f'db_{key}']}
    connection = psycopg2.connect(dbname='postgres', **params)
    connection.autocommit = True
    return connection


def exists(name: str) -> bool:
    with connect() as connection, connection.cursor() as cr:
        cr.execute('SELECT 1 FROM pg_database WHERE datname = %s', [name])
        return bool(cr.fetchone())


def drop(name: str, attempts: int = 20) -> None:
    # Not `WITH (FORCE)`: it refuses (InsufficientPrivilege) when a backend of
    # another role, such as an autovacuum worker, is in the database, and our
    # role is no superuser. We end our own role's sessions; a plain DROP
    # cancels autovacuum itself, and a retry covers a session still closing.
    connection = connect()
    try:
        with connection.cursor() as cr:
            for attempt in range(attempts):
                cr.execute(
                    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity'
                    ' WHERE datname = %s AND pid <> pg_backend_pid() AND usename = current_user',
                    [name],
                )
                try:
                    cr.execute(sql.SQL('DROP DATABASE IF EXISTS {}').format(sql.Identifier(name)))
                    break
                except psycopg2.errors.ObjectInUse:
                    if attempt == attempts - 1:
                        raise
                    time.sleep(0.25)
    finally:
        connection.close()
    shutil.rmtree(Path(config.filestore(name)), ignore_errors=True)


def copy(source: str, target: str) -> None:
    drop(target)
    connection = connect()
    try:
        with connection.cursor() as cr:
            cr.execute(
                sql.SQL('CREATE DATABASE {} WITH TEMPLATE {}').format(sql.Identifier(target), sql.Identifier(source))
            )
    finally:
        connection.close()
    if Path(config.filestore(source)).exists():
        shutil.copytree(config.filestore(source), config.filestore(target))


def main(argv: list[str]) -> int:
    conf, command, *names = argv
    config.parse_config(['-c', conf])
    if command == 'exists':
        return 0 if exists(names[0]) else 1
    if command == 'drop':
        for name in names:
            drop(name)
        return 0
    if command == 'copy':
        copy(*names)
        return 0
    raise SystemExit(f'unknown command {command!r}')


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
