import base64
from contextlib import closing, contextmanager

from odoo import SUPERUSER_ID, Command, api
from odoo.sql_db import db_connect
from odoo.tests import TransactionCase, new_test_user

from cloudstamp_engine_testing.pdf_samples import contract_pdf

RECIPIENT = {'name': '佐藤 一郎', 'email': 'sato@partner.example'}


def make_envelope(env, recipients=(RECIPIENT,), **values):
    return env['cloudstamp.envelope'].create(
        {
            'name': values.pop('name', '秘密保持契約書'),
            'file_ids': [Command.create({'name': 'nda.pdf', 'original_file': base64.b64encode(contract_pdf())})],
            'recipient_ids': [Command.create(dict(r)) for r in recipients],
            **values,
        }
    )


def ready_to_agree(envelope):
    """Send, then do what the recipient pages do up to the agreement."""
    envelope.action_send()
    recipient = envelope.current_recipient_id
    recipient._accept_terms('0' * 64)
    return recipient


def finalize(env):
    """What the cron worker does right after the last agreement."""
    env['cloudstamp.envelope']._cron_finalize()


def new_sender(env, login, groups='cloudstamp_sign.group_cloudstamp_user', **values):
    """A CloudStamp user whose login is their (administrator-vouched) address."""
    return new_test_user(env, login, groups=groups, email=login, **values)


@contextmanager
def worker_env(registry):
    """A superuser environment on its own connection, whose commits are
    real, as another Odoo worker has. Its transaction is handed the
    registry: Odoo's own test runner holds the registry lock while the tests
    run, and a thread that looked the registry up by name would wait forever."""
    with closing(db_connect(registry.db_name).cursor()) as cr:
        cr.transaction = api.Transaction(registry)
        yield api.Environment(cr, SUPERUSER_ID, {})


class CloudStampCase(TransactionCase):
    """The database's own signing service, a sample PDF and its root CA."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.service = cls.env['cloudstamp.signing.service']
        cls.certificates = cls.env['cloudstamp.pki.certificate']
        cls.root_pem = cls.certificates._current('root').certificate_pem.encode()
        cls.pdf = contract_pdf('売買契約書 / Sales Contract')

    def sign_round(self, data=None):
        data = data or self.pdf
        for email, action in (('sales@cloudstamp.example', 'send'), ('buyer@partner.example', 'agree')):
            data = self.service._sign_pdf(data, self.env.company, email, action, actor_name='担当者')
        return data

    def signatures(self, envelope_or_document):
        """(action, actor) of every signature of the (first) stored PDF."""
        document = envelope_or_document
        if document._name == 'cloudstamp.envelope':
            document = document.file_ids[:1]
        report = self.service._verify_pdf(document.sudo()._current_pdf(), document.company_id)
        return [(s.action, s.actor) for s in report.signatures]
