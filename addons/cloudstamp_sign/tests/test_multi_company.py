"""Every CloudStamp record stays in its company, and each company signs in
its own name (issue 7 §5)."""

from odoo.exceptions import AccessError
from odoo.tests import tagged

from cloudstamp_engine import Verdict

from .common import CloudStampCase, finalize, make_envelope, new_sender, ready_to_agree

MODELS = ('cloudstamp.envelope', 'cloudstamp.envelope.file', 'cloudstamp.recipient', 'cloudstamp.event')
# Stored CloudStamp models that no company or creator rule confines, and why.
UNCONFINED = {
    # wrong links belong to no envelope; no ACL: only the recipient pages (sudo) count them
    'cloudstamp.access.failure': 'not company data',
}


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

    def test_every_stored_cloudstamp_model_is_confined_by_a_global_rule(self):
        """Whatever addon adds a model: its records stay in their company (or,
        for an upload wizard, with their creator), unless UNCONFINED says why."""
        unconfined = []
        for name in self.env:
            model = self.env[name]
            if not name.startswith('cloudstamp.') or model._abstract or name in UNCONFINED:
                continue
            domains = (
                self.env['ir.rule']
                .sudo()
                .search([('model_id.model', '=', name), ('global', '=', True)])
                .mapped('domain_force')
            )
            if not any('company_ids' in d or "'create_uid', '=', user.id" in d for d in domains):
                unconfined.append(name)
        self.assertFalse(unconfined, 'models with no global company or creator rule')

    def test_certificates_types_and_tags_follow_the_company_rules(self):
        """The rules do confine: B's certificates and B's own vocabulary are out
        of A's manager's reach, shared vocabulary is not."""
        self.envelope_of(self.sender_b, self.company_b)  # B's identity, on demand
        certificates = self.env['cloudstamp.pki.certificate'].sudo()
        domain = self.env['ir.rule'].with_user(self.manager_a)._compute_domain('cloudstamp.pki.certificate', 'read')
        visible = certificates.search(domain)
        self.assertTrue(visible.filtered(lambda c: c.company_id == self.company_a))
        self.assertFalse(visible.filtered(lambda c: c.company_id == self.company_b))
        if 'cloudstamp.contract.type' not in self.env:
            return
        for model in ('cloudstamp.contract.type', 'cloudstamp.contract.tag'):
            own_b = self.env[model].sudo().create({'name': 'ベータ専用', 'company_id': self.company_b.id})
            shared = self.env[model].sudo().create({'name': '共通', 'company_id': False})
            found = self.env[model].with_user(self.manager_a).search([])
            self.assertIn(shared, found, model)
            self.assertNotIn(own_b, found, model)
            with self.assertRaises(AccessError):
                own_b.with_user(self.manager_a).read(['name'])
