from . import cloudstamp_verify_wizard
from . import cloudstamp_certificate_revoke
