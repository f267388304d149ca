from . import test_recipient_flow
