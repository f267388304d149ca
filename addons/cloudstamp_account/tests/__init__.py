from . import test_invoice_agreement
