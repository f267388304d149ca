from odoo import SUPERUSER_ID, api, fields, models
from odoo.modules.registry import Registry


class MailMail(models.Model):
    _inherit = 'mail.mail'

    cloudstamp_link_recipient_id = fields.Many2one(
        'cloudstamp.recipient', 'CloudStamp Link Recipient', readonly=True, index='btree_not_null', ondelete='set null',
        help='The recipient whose links this mail carries, filled in only as it leaves.')

    def _prepare_outgoing_body(self):
        body = super()._prepare_outgoing_body()
        if self.cloudstamp_link_recipient_id and body:
            body = self.cloudstamp_link_recipient_id._fill_link_placeholders(body, self.email_to)
        return body

    def _send_on_commit(self):
        """Send these mails once the current transaction commits, instead of
        at the next run of the mail queue: the next recipient should not wait
        for their link. Nothing is sent if the transaction rolls back; a
        delivery failure is recorded on the mail, as the queue would."""
        mail_ids, dbname, context = self.ids, self.env.cr.dbname, dict(self.env.context)

        @self.env.cr.postcommit.add
        def send_now():
            with Registry(dbname).cursor() as cr:
                # A named environment: the cursor flushes only through live ones.
                env = api.Environment(cr, SUPERUSER_ID, context)
                env['mail.mail'].process_email_queue(ids=mail_ids)
