from . import controllers, link_redaction, models

link_redaction.install()


def _cloudstamp_portal_post_init(env):
    """Existing companies get the default terms of use in every installed language."""
    env['res.company'].search([])._cloudstamp_translate_default_terms()
