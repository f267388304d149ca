"""Every CloudStamp record stays in its company, and each company signs in
its own name (issue 7 §5)."""

from odoo.exceptions import AccessError
from odoo.tests import tagged

from cloudstamp_engine import Verdict

from .common import CloudStampCase, finalize, make_envelope, new_sender, ready_to_agree

MODELS = ('cloudstamp.envelope', 'cloudstamp.envelope.file', 'cloudstamp.recipient', 'cloudstamp.event')


@tagged('post_install', '-at_install')
class TestMultiCompany(CloudStampCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env.company
        cls.company_b = cls.env['res.company'].create({'name': '株式会社ベータ商事'})
        cls.manager_a = new_sender(
            cls.env,
            'boss@alpha.example',
            groups='cloudstamp_sign.group_cloudstamp_manager',
            company_id=cls.company_a.id,
            company_ids=[cls.company_a.id],
        )
        cls.sender_b = new_sender(
            cls.env, 'sales@beta.example', company_id=cls.company_b.id, company_ids=[cls.company_b.id]
        )

    def envelope_of(self, user, company):
        envelope = make_envelope(self.env(user=user, context={'allowed_company_ids': [company.id]}))
        self.assertEqual(envelope.company_id, company)
        recipient = ready_to_agree(envelope)
        recipient._action_agree()
        finalize(self.env)  # the cron runs in no particular company
        self.assertEqual(envelope.state, 'completed')
        return envelope

    def test_each_company_signs_with_its_own_identity_created_on_demand(self):
        Certificates = self.env['cloudstamp.pki.certificate'].sudo()
        self.assertFalse(Certificates.search([('company_id', '=', self.company_b.id)]))
        envelope_b = self.envelope_of(self.sender_b, self.company_b)
        self.assertEqual(
            sorted(Certificates.search([('company_id', '=', self.company_b.id)]).mapped('role')),
            ['root', 'signer', 'tsa'],
        )
        report = self.service._verify_pdf(envelope_b.file_ids._current_pdf(), self.company_b)
        self.assertEqual(report.verdict, Verdict.VALID, report.problems)
        self.assertTrue(all('ベータ商事' in s.signer_subject for s in report.signatures))
        self.assertTrue(all('ベータ商事' in s.tsa for s in report.signatures))
        # A's roots do not vouch for B's signatures, nor for B's trail timestamps
        self.assertNotEqual(
            self.service._verify_pdf(envelope_b.file_ids._current_pdf(), self.company_a).verdict, Verdict.VALID
        )
        self.assertEqual(envelope_b._verify_trail(), '')
        envelope_a = self.envelope_of(self.manager_a, self.company_a)
        report_a = self.service._verify_pdf(envelope_a.file_ids._current_pdf(), self.company_a)
        self.assertNotIn('ベータ商事', report_a.signatures[0].signer_subject)
        self.assertIn(self.company_a.name, report_a.signatures[0].signer_subject)

    def test_a_manager_sees_nothing_of_another_company(self):
        envelope_b = self.envelope_of(self.sender_b, self.company_b)
        records_b = {
            'cloudstamp.envelope': envelope_b,
            'cloudstamp.envelope.file': envelope_b.file_ids,
            'cloudstamp.recipient': envelope_b.recipient_ids,
            'cloudstamp.event': envelope_b.event_ids,
        }
        own_a = self.envelope_of(self.manager_a, self.company_a)
        for model in MODELS:
            as_manager = self.env[model].with_user(self.manager_a)
            found = as_manager.search([])
            self.assertFalse(found & records_b[model].with_user(self.manager_a), model)
            self.assertTrue(found, f'{model}: the manager sees their own company')
            with self.assertRaises(AccessError):
                records_b[model].with_user(self.manager_a).read(['company_id'])
        # the company's own sender sees theirs, not A's
        self.assertEqual(self.env['cloudstamp.envelope'].with_user(self.sender_b).search([]), envelope_b)
        with self.assertRaises(AccessError):
            own_a.with_user(self.sender_b).read(['name'])
        with self.assertRaises(AccessError):
            envelope_b.with_user(self.manager_a).action_send()
