from . import recipient
