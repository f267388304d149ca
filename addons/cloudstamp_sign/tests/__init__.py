from . import (
    test_filestore,
    test_addresses,
    test_envelope_evidence,
    test_evidence_guard,
    test_http,
    test_long_term_evidence,
    test_multi_company,
    test_pkcs11,
    test_service_pki,
    test_trail_anchor,
)
