from . import test_recipient_flow, test_recipient_tour
