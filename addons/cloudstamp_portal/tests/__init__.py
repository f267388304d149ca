from . import test_recipient_flow, test_recipient_security, test_recipient_tour
