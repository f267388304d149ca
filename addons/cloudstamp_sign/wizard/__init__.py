from . import cloudstamp_verify_wizard
