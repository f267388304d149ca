from odoo.tests import TransactionCase

from ..engine.tests.pdf_samples import contract_pdf


class CloudStampCase(TransactionCase):
    """The database's own signing service, a sample PDF and its root CA."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.service = cls.env['cloudstamp.signing.service']
        cls.certificates = cls.env['cloudstamp.certificate']
        cls.root_pem = cls.certificates._current('root').certificate_pem.encode()
        cls.pdf = contract_pdf('売買契約書 / Sales Contract')

    def sign_round(self, data=None):
        data = data or self.pdf
        for email, action in (('sales@cloudstamp.example', 'send'),
                              ('buyer@partner.example', 'agree')):
            data = self.service.sign_pdf(data, email, action, actor_name='担当者')
        return data
