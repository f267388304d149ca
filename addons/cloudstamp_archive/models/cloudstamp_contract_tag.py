from odoo import fields, models


class CloudStampContractTag(models.Model):
    _name = 'cloudstamp.contract.tag'
    _description = 'CloudStamp Contract Tag'
    _order = 'name'

    name = fields.Char(required=True)
    color = fields.Integer()
    company_id = fields.Many2one('res.company', default=lambda self: self.env.company)

    _sql_constraints = [('name_company_unique', 'unique(name, company_id)', 'This tag already exists.')]
