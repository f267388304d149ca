from odoo import SUPERUSER_ID, api, models
from odoo.modules.registry import Registry


class MailMail(models.Model):
    _inherit = 'mail.mail'

    def _send_on_commit(self):
        """Send these mails once the current transaction commits, instead of
        at the next run of the mail queue: the next recipient should not wait
        for their link. Nothing is sent if the transaction rolls back; a
        delivery failure is recorded on the mail, as the queue would."""
        mail_ids, dbname, context = self.ids, self.env.cr.dbname, dict(self.env.context)

        @self.env.cr.postcommit.add
        def send_now():
            with Registry(dbname).cursor() as cr:
                api.Environment(cr, SUPERUSER_ID, context)['mail.mail'].process_email_queue(ids=mail_ids)
