"""End to end: the three addons installed together and served over HTTP."""

import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from odoo.tests import HttpCase, tagged
from odoo.tools import config, mute_logger

COMPOSE_FILE = Path(__file__).resolve().parents[3] / 'docker-compose.yml'

ADDONS = ('cloudstamp_sign', 'cloudstamp_archive', 'cloudstamp_portal')


@tagged('post_install', '-at_install', 'cloudstamp_e2e')
class TestInstallation(HttpCase):
    def test_the_database_manager_is_closed(self):
        """Security review finding 5: with a known master password and the
        database manager open, anyone could download the whole database."""
        self.assertFalse(config['list_db'])
        for known in ('admin', 'cloudstamp-master'):
            self.assertFalse(config.verify_admin_password(known))
        for password in (config['admin_passwd'], 'admin', 'cloudstamp-master'):
            with mute_logger('odoo.addons.web.controllers.database', 'odoo.http', 'odoo.service.db'):
                response = self.url_open(
                    '/web/database/backup',
                    data={'master_pwd': password, 'name': self.env.cr.dbname, 'backup_format': 'zip'},
                )
            self.assertNotIn('octet-stream', response.headers.get('Content-Type', ''))
            self.assertFalse(response.content.startswith(b'PK'))

    def test_docker_compose_closes_the_database_manager_and_binds_loopback(self):
        """Finding 5 for `docker compose up`. No Docker daemon runs where the
        tests run, so this reads the compose file and hands its command line
        to Odoo's own option parser, in a fresh interpreter."""
        service = yaml.safe_load(COMPOSE_FILE.read_text())['services']['odoo']
        for port in service['ports']:
            self.assertTrue(str(port).startswith('127.0.0.1:'), port)
        arguments = shlex.split(service['command'])
        self.assertEqual(arguments[0], '--', 'the image entrypoint passes what follows to Odoo')
        probe = (
            'import sys, odoo; from odoo.tools import config; '
            'config._parse_config(sys.argv[1:]); '
            "print(config['list_db'], config['db_name'], config['http_interface'] or '-')"
        )
        result = subprocess.run(
            [sys.executable, '-c', probe, *arguments[1:]], capture_output=True, text=True, check=True, timeout=120
        )
        list_db, db_name, _interface = result.stdout.split()
        self.assertEqual(list_db, 'False')
        self.assertEqual(db_name, 'cloudstamp')

    def test_admin_reaches_the_web_client_and_settings(self):
        self.authenticate('admin', 'admin')
        response = self.url_open('/odoo')
        self.assertEqual(response.status_code, 200)
        views = self.env['res.config.settings'].get_views([(False, 'form')])
        arch = views['views']['form']['arch']
        self.assertIn('cloudstamp_tsa_url', arch)
        self.assertIn('action_cloudstamp_download_root_ca', arch)

    def test_japanese_is_installed_for_every_addon(self):
        self.env['res.lang']._activate_lang('ja_JP')
        self.env['ir.module.module'].search([('name', 'in', ADDONS)])._update_translations(['ja_JP'])
        menu = self.env.ref('cloudstamp_sign.cloudstamp_verify_menu').with_context(lang='ja_JP')
        self.assertEqual(menu.name, 'PDFを検証')
