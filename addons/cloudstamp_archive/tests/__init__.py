# Tests across every CloudStamp addon live here, in the addon that depends on
# all of them, so that Odoo's own test runner runs them too.
from . import (
    test_contract,
    test_export,
    test_fulltext,
    test_import,
    test_installation,
    test_suggestions,
    test_teams_archive,
    test_template_defaults,
    test_rpc_surface,
    test_translations,
)
