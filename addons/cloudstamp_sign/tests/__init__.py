from . import test_service_pki, test_http
