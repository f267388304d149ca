from . import cloudstamp_contract
from . import purchase_order
