from odoo import fields, models


class CloudStampContractType(models.Model):
    """What kind of document a contract is: 売買基本契約書, 発注書, 請求書…

    The shipped types belong to no company (every company files the same
    kinds of document); a type a company adds is its own."""

    _name = 'cloudstamp.contract.type'
    _description = 'CloudStamp Contract Type'
    _order = 'sequence, id'

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one('res.company', index=True, default=lambda self: self.env.company)
