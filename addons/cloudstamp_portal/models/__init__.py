from . import cloudstamp_access_failure
from . import cloudstamp_envelope
from . import cloudstamp_recipient
from . import mail_mail
from . import res_company
from . import res_config_settings
