from . import (
    test_access_code,
    test_links,
    test_recipient_flow,
    test_recipient_security,
    test_recipient_tour,
    test_seal,
    test_verify_page,
)
