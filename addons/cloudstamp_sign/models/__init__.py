from . import cloudstamp_certificate
from . import cloudstamp_signing_service
from . import cloudstamp_envelope
from . import cloudstamp_document
from . import cloudstamp_recipient
from . import cloudstamp_event
from . import cloudstamp_certificate_report
from . import res_config_settings
