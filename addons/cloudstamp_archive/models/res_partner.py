from odoo import fields, models


class ResPartner(models.Model):
    _inherit = 'res.partner'

    cloudstamp_contract_count = fields.Integer('Contracts', compute='_compute_cloudstamp_contract_count')

    def _compute_cloudstamp_contract_count(self):
        counts = dict(
            self.env['cloudstamp.contract']._read_group(
                [('partner_id', 'child_of', self.commercial_partner_id.ids)], ['partner_id'], ['__count']
            )
        )
        for partner in self:
            partner.cloudstamp_contract_count = sum(
                count
                for contract_partner, count in counts.items()
                if contract_partner.commercial_partner_id == partner.commercial_partner_id
            )

    def action_view_cloudstamp_contracts(self):
        self.ensure_one()
        self.env['cloudstamp.contract'].check_access('read')
        action = self.env['ir.actions.act_window']._for_xml_id('cloudstamp_archive.cloudstamp_contract_action')
        action['domain'] = [('partner_id', 'child_of', self.commercial_partner_id.id)]
        action['context'] = {}
        return action
