from . import test_sale_agreement
