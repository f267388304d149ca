from . import controllers, link_redaction, models

link_redaction.install()
