from . import recipient
from . import verify
