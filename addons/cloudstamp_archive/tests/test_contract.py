from datetime import date

from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from odoo.addons.cloudstamp_sign.tests.common import (
    CloudStampCase,
    finalize,
    make_envelope,
    new_sender,
    ready_to_agree,
)


def complete(env, **values):
    """A document sent by ``env``'s user, agreed and completed: its contract."""
    recipient = ready_to_agree(make_envelope(env, **values))
    recipient._action_agree()
    finalize(env)
    return recipient.envelope_id.contract_ids


@tagged('post_install', '-at_install')
class TestContract(CloudStampCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sender = new_sender(cls.env, 'sales@cloudstamp.example')
        cls.other_sender = new_sender(cls.env, 'other@cloudstamp.example')
        cls.reader = new_test_user(cls.env, 'accounting', groups='cloudstamp_archive.group_cloudstamp_contract_reader')
        cls.partner = cls.env['res.partner'].create({'name': '株式会社パートナー', 'is_company': True})

    def sent_by(self, user, **values):
        return complete(self.env(user=user), **values)

    def test_a_completed_send_is_filed_with_what_the_sender_said(self):
        nda = self.env.ref('cloudstamp_archive.contract_type_nda')
        contract = self.sent_by(
            self.sender,
            contract_partner_id=self.partner.id,
            contract_type_id=nda.id,
            contract_amount=1_200_000,
            contract_transaction_date='2026-04-01',
            contract_date_end='2027-03-31',
        )
        self.assertEqual(len(contract), 1)
        envelope = contract.envelope_id
        self.assertEqual(
            (contract.name, contract.document_ref, contract.source, contract.partner_id, contract.contract_type_id),
            (envelope.name, envelope.document_ref, 'signed', self.partner, nda),
        )
        self.assertEqual((contract.amount, contract.transaction_date), (1_200_000, date(2026, 4, 1)))
        self.assertEqual(contract.date_signed, envelope.completed_date)
        self.assertTrue(contract.evidence_valid_until)
        self.assertEqual(contract.evidence_valid_until, envelope.file_ids.evidence_valid_until)
        self.assertEqual(contract.file_ids, envelope.file_ids)
        self.assertEqual(contract.retention_end, date(2033, 4, 1))
        self.assertEqual(contract.user_id, self.sender)

    def test_only_the_workflow_files_contracts(self):
        contract = self.sent_by(self.sender)
        for user in (self.sender, self.reader, self.env.ref('base.user_admin')):
            with self.assertRaises(AccessError):
                contract.with_user(user).write({'document_ref': 'CS-FAKE'})
            with self.assertRaises(AccessError):
                self.env['cloudstamp.contract'].with_user(user).create(
                    {'name': 'x', 'envelope_id': contract.envelope_id.id}
                )

    def test_who_sees_which_contract(self):
        mine = self.sent_by(self.sender)
        theirs = self.sent_by(self.other_sender)
        both = mine | theirs
        Contract = self.env['cloudstamp.contract']
        self.assertEqual(Contract.with_user(self.sender).search([('id', 'in', both.ids)]), mine)
        self.assertEqual(Contract.with_user(self.reader).search([('id', 'in', both.ids)]), both)
        # readers complete the metadata, but cannot send
        mine.with_user(self.reader).write({'amount': 500_000, 'partner_id': self.partner.id})
        self.assertEqual(mine.amount, 500_000)
        with self.assertRaises(AccessError):
            self.env['cloudstamp.envelope'].with_user(self.reader).create({'name': 'x'})
        # another company's reader sees nothing of ours
        other_company = self.env['res.company'].create({'name': 'Other KK'})
        outsider = new_test_user(
            self.env,
            'outsider',
            groups='cloudstamp_archive.group_cloudstamp_contract_reader',
            company_id=other_company.id,
            company_ids=[Command.set(other_company.ids)],
        )
        self.assertFalse(Contract.with_user(outsider).search([('id', 'in', both.ids)]))

    def test_search_by_party_amount_and_dates(self):
        small = self.sent_by(self.sender, contract_amount=100_000, contract_transaction_date='2026-01-10')
        large = self.sent_by(self.sender, contract_amount=3_000_000, contract_transaction_date='2026-02-20')
        late = self.sent_by(self.sender, contract_amount=3_000_000, contract_transaction_date='2026-06-01')
        Contract = self.env['cloudstamp.contract'].with_user(self.reader)
        ours = [('id', 'in', (small | large | late).ids)]
        found = Contract.search(
            ours
            + [
                ('amount', '>=', 1_000_000),
                ('amount', '<=', 5_000_000),
                ('transaction_date', '>=', '2026-01-01'),
                ('transaction_date', '<=', '2026-03-31'),
            ]
        )
        self.assertEqual(found, large)
        self.assertEqual(Contract.search(ours + [('party_email', 'ilike', 'sato@partner')]), small | large | late)
        self.assertFalse(Contract.search(ours + [('party_email', 'ilike', 'nobody@')]))

    def test_renewal_warns_once_then_rolls_forward(self):
        contract = self.sent_by(self.sender)
        contract.write(
            {
                'date_start': '2026-01-01',
                'date_end': '2026-12-31',
                'notice_date': '2026-11-30',
                'auto_renew': True,
                'renewal_months': 12,
            }
        )
        Contract = self.env['cloudstamp.contract']
        with freeze_time('2026-10-01'):
            Contract._cron_renewal()
        self.assertEqual(contract.renewal_state, 'running')
        self.assertFalse(contract.activity_ids)
        with freeze_time('2026-11-05'):  # 25 days before the notice deadline
            Contract._cron_renewal()
            Contract._cron_renewal()  # a second run warns no one again
        self.assertEqual(contract.renewal_state, 'to_renew')
        self.assertEqual(len(contract.activity_ids), 1)
        self.assertEqual(contract.activity_ids.user_id, self.sender)
        self.assertEqual(contract.activity_ids.date_deadline, date(2026, 11, 30))
        with freeze_time('2027-01-02'):
            Contract._cron_renewal()
        self.assertEqual(
            (contract.date_start, contract.date_end, contract.notice_date),
            (date(2027, 1, 1), date(2027, 12, 31), date(2027, 11, 30)),
        )
        self.assertEqual(contract.renewal_state, 'running')
        self.env.flush_all()
        self.env.cr.precommit.run()  # Odoo writes tracking values as the transaction ends
        tracked = contract.sudo().message_ids.tracking_value_ids.filtered(lambda t: t.field_id.name == 'date_end')
        self.assertTrue(tracked, 'the roll is tracked in the chatter')

    def test_a_contract_that_does_not_renew_expires(self):
        contract = self.sent_by(self.sender)
        contract.write({'date_end': '2026-12-31'})
        with freeze_time('2027-01-02'):
            self.env['cloudstamp.contract']._cron_renewal()
        self.assertEqual(contract.renewal_state, 'expired')
        self.assertEqual(contract.date_end, date(2026, 12, 31))

    def test_a_contract_is_kept_until_its_retention_ends(self):
        contract = self.sent_by(self.sender, contract_transaction_date='2026-04-01')
        admin = self.env.ref('base.user_admin')
        with self.assertRaisesRegex(UserError, '2033-04-01'):
            contract.with_user(admin).unlink()
        contract.with_user(admin).action_archive()
        self.assertFalse(contract.active)
        with freeze_time(fields.Date.to_date('2033-04-02')):
            contract.with_user(admin).unlink()
        self.assertFalse(contract.exists())

    def test_a_partner_shows_their_contracts(self):
        contract = self.sent_by(self.sender, contract_partner_id=self.partner.id)
        self.assertEqual(self.partner.with_user(self.reader).cloudstamp_contract_count, 1)
        action = self.partner.with_user(self.reader).action_view_cloudstamp_contracts()
        self.assertEqual(self.env['cloudstamp.contract'].search(action['domain']), contract)
        self.assertEqual(contract.envelope_id.action_view_contract()['res_id'], contract.id)
