from . import cloudstamp_contract_type
from . import cloudstamp_contract_tag
from . import cloudstamp_agreement_mixin
from . import cloudstamp_contract
from . import cloudstamp_envelope
from . import res_company
from . import res_config_settings
from . import res_partner
