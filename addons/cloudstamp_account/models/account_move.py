from odoo import fields, models


class AccountMove(models.Model):
    _name = 'account.move'
    _inherit = ['account.move', 'cloudstamp.agreement.mixin']

    cloudstamp_contract_ids = fields.Many2many(
        'cloudstamp.contract',
        'cloudstamp_contract_account_move_rel',
        'move_id',
        'contract_id',
        string='Contracts',
        copy=False,
        tracking=True,
        groups='cloudstamp_sign.group_cloudstamp_user,cloudstamp_archive.group_cloudstamp_contract_reader',
    )

    def _cloudstamp_report(self):
        return self.env.ref('account.account_invoices')

    def _cloudstamp_agreement_values(self):
        return {
            'partner': self.partner_id,
            'transaction_date': self.invoice_date or self.date,
            'amount': self.amount_total,
            'currency': self.currency_id,
            'user': self.invoice_user_id,
        }
