"""No installable combination of our addons mails a dead link.

Each addon is installed alone and in every combination, each into its own
copy of one database that holds only their Odoo dependencies, by Odoo's own
command line. In each, a document is sent for real and the link in the
outgoing mail must resolve: to a route of the installed modules, and to the
recipient it was mailed to. Where no addon serves the recipient pages,
sending must be refused and nothing mailed. Last, a database whose recipient
pages were uninstalled must refuse too.

Plain pytest (it starts Odoo itself): ``python -m pytest -p no:odoo tests/install``.
"""

from __future__ import annotations

import ast
import contextlib
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VAR = Path(os.environ.get('CLOUDSTAMP_VAR') or REPO / 'var')
CONF = VAR / 'odoo.conf'
PREFIX = os.environ.get('CLOUDSTAMP_COMBO_DB', 'cloudstamp_combo')
LOGS = VAR / 'test-logs' / 'combinations'


# What the core addons may depend on; an addon that needs more (Sales,
# Purchase, Invoicing) is a bridge, tested with its app below.
BASE_MODULES = {'base', 'base_setup', 'mail', 'portal', 'web'}


def manifests() -> dict[str, dict]:
    return {
        manifest.parent.name: ast.literal_eval(manifest.read_text())
        for manifest in sorted((REPO / 'addons').glob('*/__manifest__.py'))
    }


def addons() -> list[str]:
    """The core addons: each installable with nothing but Odoo's base modules."""
    ours = manifests()
    return [
        name
        for name, manifest in ours.items()
        if manifest.get('installable', True) and set(manifest.get('depends', ())) <= BASE_MODULES | set(ours)
    ]


def bridges() -> list[str]:
    """The addons that couple the core to one of Odoo's apps."""
    installable = {name for name, manifest in manifests().items() if manifest.get('installable', True)}
    return sorted(installable - set(addons()))


def odoo(*args: str, log: str) -> None:
    LOGS.mkdir(parents=True, exist_ok=True)
    with open(LOGS / log, 'w') as out:
        done = subprocess.run(
            [sys.executable, '-m', 'odoo', '-c', str(CONF), *args, '--stop-after-init', '--log-level=warn'],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    text = (LOGS / log).read_text()
    assert done.returncode == 0 and ' ERROR ' not in text and ' CRITICAL ' not in text, (
        f'odoo {" ".join(args)} failed: see {LOGS / log}\n{text[-3000:]}'
    )


def dbtool(*args: str) -> None:
    subprocess.run([sys.executable, str(REPO / 'scripts' / 'dbtool.py'), str(CONF), *args], check=True)


def probe(db: str) -> dict:
    """Send a document in ``db`` as its administrator; what became of the link."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name('probe_link.py')), str(CONF), db],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope='module')
def base_db():
    """A database with the Odoo modules our addons depend on, and nothing of ours."""
    if not CONF.exists():
        pytest.fail(f'{CONF} is missing: run make setup')
    name = f'{PREFIX}_base'
    dbtool('drop', name)
    odoo('-d', name, '-i', 'base_setup,mail,portal', '--without-demo=all', log='base.log')
    yield name
    if not os.environ.get('CLOUDSTAMP_KEEP_DB'):
        dbtool('drop', name)


def combinations() -> list[tuple[str, ...]]:
    names = addons()
    return [combo for size in range(1, len(names) + 1) for combo in itertools.combinations(names, size)]


def check_no_dead_link(result: dict) -> None:
    if 'cloudstamp_sign' not in result['modules']:
        assert result['outcome'] == 'nothing to send', result
        return
    if result['outcome'] == 'refused':
        assert result['mails'] == 0, f'refused, yet mailed: {result}'
        return
    assert result['outcome'] == 'sent', result
    assert result['links'], f'a mail without a link: {result}'
    for link in result['links']:
        assert link['route'], f'dead link {link["path"]}: no route in {result["modules"]}'
        assert link['recipient_matches'], f'the link does not open the recipient it was mailed to: {link}'


@contextlib.contextmanager
def installed(base_db: str, name: str, modules: str):
    """A copy of ``base_db`` named ``name``, with ``modules`` installed; dropped after."""
    db = f'{PREFIX}_{name}'
    dbtool('copy', base_db, db)
    try:
        odoo('-d', db, '-i', modules, log=f'{db}.log')
        yield db
    finally:
        if not os.environ.get('CLOUDSTAMP_KEEP_DB'):
            dbtool('drop', db)


def uninstall(db: str, module: str) -> None:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name('probe_link.py')), str(CONF), db, '--uninstall', module],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize('combo', combinations(), ids='+'.join)
def test_no_installable_combination_mails_a_dead_link(base_db, combo):
    name = '_'.join(addon.removeprefix('cloudstamp_') for addon in combo)
    with installed(base_db, name, ','.join(combo)) as db:
        result = probe(db)
    assert set(combo) <= set(result['modules'])
    check_no_dead_link(result)
    # The recipient pages come with the signing addon, whichever was asked for.
    if 'cloudstamp_sign' in result['modules']:
        assert 'cloudstamp_portal' in result['modules'], result
        assert result['outcome'] == 'sent', result


def test_without_the_recipient_pages_sending_is_refused(base_db):
    with installed(base_db, 'pages_removed', 'cloudstamp_sign') as db:
        uninstall(db, 'cloudstamp_portal')
        result = probe(db)
    assert 'cloudstamp_portal' not in result['modules'], result
    assert result['outcome'] == 'refused' and result['mails'] == 0, result
    assert 'cloudstamp_portal' in result['message'], result


def test_uninstalling_leaves_nothing_behind(base_db):
    """The trail's append-only function goes with the addon."""
    with installed(base_db, 'uninstalled', 'cloudstamp_sign') as db:
        uninstall(db, 'cloudstamp_sign')
        result = probe(db)
    assert result['modules'] == [], result
    assert not result['functions'], result


# Each of Odoo's apps alone beside the archive, and the bridges it must
# bring: Sales and Purchase both bring Invoicing, so the account bridge too.
APP_BRIDGES = {
    'account': ['cloudstamp_account'],
    'sale_management': ['cloudstamp_account', 'cloudstamp_sale'],
    'purchase': ['cloudstamp_account', 'cloudstamp_purchase'],
}


def test_every_bridge_is_tested_with_its_app():
    assert sorted({b for expected in APP_BRIDGES.values() for b in expected}) == bridges()


@pytest.mark.parametrize('app', sorted(APP_BRIDGES))
def test_each_bridge_installs_itself_beside_its_app_alone(base_db, app):
    """With the archive and one app, exactly that app's bridges are
    installed, and sending still mails live links."""
    with installed(base_db, f'bridge_{app}', f'cloudstamp_archive,{app}') as db:
        result = probe(db)
    assert sorted(set(bridges()) & set(result['modules'])) == APP_BRIDGES[app], result
    check_no_dead_link(result)
    assert result['outcome'] == 'sent', result
