from . import test_service_pki, test_http, test_envelope_evidence
