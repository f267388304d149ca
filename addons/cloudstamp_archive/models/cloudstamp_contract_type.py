from odoo import fields, models


class CloudStampContractType(models.Model):
    """What kind of document a contract is: 売買基本契約書, 発注書, 請求書…"""

    _name = 'cloudstamp.contract.type'
    _description = 'CloudStamp Contract Type'
    _order = 'sequence, id'

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
