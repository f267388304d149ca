import base64

from odoo import Command
from odoo.tests import tagged

from odoo.addons.cloudstamp_sign.tests.common import CloudStampCase, finalize, new_sender

from cloudstamp_engine_testing.pdf_samples import contract_pdf


@tagged('post_install', '-at_install')
class TestTemplateDefaults(CloudStampCase):
    def test_a_template_files_its_sends_with_its_archive_defaults(self):
        sender = new_sender(self.env, 'sales@cloudstamp.example')
        nda = self.env.ref('cloudstamp_archive.contract_type_nda')
        tag = self.env['cloudstamp.contract.tag'].create({'name': '取引基本'})
        template = (
            self.env['cloudstamp.template']
            .with_user(sender)
            .create(
                {
                    'name': '業務委託契約書',
                    'contract_type_id': nda.id,
                    'contract_tag_ids': [Command.set(tag.ids)],
                    'contract_auto_renew': True,
                    'contract_renewal_months': 6,
                    'file_ids': [Command.create({'name': 'c.pdf', 'file': base64.b64encode(contract_pdf())})],
                    'role_ids': [Command.create({'name': '先方担当者'})],
                }
            )
        )
        role = template.role_ids
        envelope = template._create_envelope(
            {role.id: {'name': '佐藤 一郎', 'email': 'sato@partner.example'}},
            {'contract_amount': 330_000, 'contract_date_start': '2027-01-01'},
        )
        self.assertEqual((envelope.contract_type_id, envelope.contract_tag_ids), (nda, tag))
        envelope.action_send()
        recipient = envelope.current_recipient_id
        recipient._accept_terms('0' * 64)
        recipient._action_agree()
        finalize(self.env)
        contract = envelope.contract_ids
        self.assertEqual(
            (
                contract.contract_type_id,
                contract.tag_ids,
                contract.auto_renew,
                contract.renewal_months,
                contract.amount,
            ),
            (nda, tag, True, 6, 330_000),
        )
        self.assertEqual(str(contract.date_start), '2027-01-01')
        # The template changes afterwards; the contract does not.
        template.write({'contract_renewal_months': 24, 'contract_tag_ids': [Command.clear()]})
        self.assertEqual((contract.renewal_months, contract.tag_ids), (6, tag))
