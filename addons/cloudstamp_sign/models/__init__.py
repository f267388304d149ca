from . import cloudstamp_certificate
from . import cloudstamp_signing_service
from . import res_config_settings
