from odoo import fields, models


class MailMail(models.Model):
    _inherit = 'mail.mail'

    cloudstamp_link_recipient_id = fields.Many2one(
        'cloudstamp.recipient',
        'CloudStamp Link Recipient',
        readonly=True,
        index='btree_not_null',
        ondelete='set null',
        help='The recipient whose links this mail carries, filled in only as it leaves.',
    )

    def _prepare_outgoing_body(self):
        body = super()._prepare_outgoing_body()
        if self.cloudstamp_link_recipient_id and body:
            body = self.cloudstamp_link_recipient_id._fill_link_placeholders(body, self.email_to)
        return body
