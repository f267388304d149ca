from . import agreement_certificate
