"""Repository-wide pytest setup.

The signing engine (``addons/cloudstamp_sign/engine``) is a plain package that
must be testable without Odoo. pytest imports its tests as
``cloudstamp_sign.engine.tests.…``, which would run the addon's ``__init__``
(and so import Odoo). Registering the addon folder as a bare package first
keeps the engine's tests free of Odoo; Odoo itself loads the addon as
``odoo.addons.cloudstamp_sign`` and is not affected.
"""

import sys
import types
from pathlib import Path

_ADDON = Path(__file__).parent / 'addons' / 'cloudstamp_sign'
if 'cloudstamp_sign' not in sys.modules:
    _package = types.ModuleType('cloudstamp_sign')
    _package.__path__ = [str(_ADDON)]
    sys.modules['cloudstamp_sign'] = _package
