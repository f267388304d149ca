from . import account_move
from . import cloudstamp_contract
