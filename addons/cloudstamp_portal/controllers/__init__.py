from . import recipient
from . import seal
from . import verify
