from . import cloudstamp_verify_wizard
from . import cloudstamp_certificate_revoke
from . import cloudstamp_template_send
from . import cloudstamp_team_member_add
