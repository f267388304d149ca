from . import cloudstamp_access_failure
from . import res_config_settings
