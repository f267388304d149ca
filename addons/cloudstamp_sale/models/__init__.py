from . import cloudstamp_contract
from . import res_company
from . import res_config_settings
from . import sale_order
