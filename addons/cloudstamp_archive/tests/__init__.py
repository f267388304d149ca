# Tests across every CloudStamp addon live here, in the addon that depends on
# all of them, so that Odoo's own test runner runs them too.
from . import test_contract, test_fulltext, test_installation, test_rpc_surface, test_translations
