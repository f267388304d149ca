from . import master_key
from .field_files import field_attachments, read_field_bytes, write_field_bytes
from .ownership import force_own_user
