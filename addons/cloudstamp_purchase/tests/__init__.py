from . import test_purchase_agreement
