from . import controllers, models, report, tools, wizard


def _cloudstamp_post_init(env):
    """Give each company of a new database its own root CA, signing and TSA
    certificates (later companies get theirs when they first sign), freeze
    the address links are built from, and install Japanese, the language of
    most recipients, with its translations."""
    for company in env['res.company'].search([]):
        env['cloudstamp.pki.certificate']._ensure_service_pki(company)
    # Odoo rewrites web.base.url whenever an administrator logs in, from
    # whatever address they used (http://localhost:8069…); links mailed to
    # recipients must not follow that.
    env['ir.config_parameter'].sudo().set_param('web.base.url.freeze', True)
    if not env['res.lang']._lang_get('ja_JP'):
        env['res.lang']._activate_lang('ja_JP')
        env['ir.module.module'].search(
            [('state', 'in', ('installed', 'to install', 'to upgrade'))]
        )._update_translations(['ja_JP'])


def _cloudstamp_uninstall(env):
    """Odoo drops the trail's table (and its triggers); the function they
    called is ours to remove."""
    env.cr.execute('DROP FUNCTION IF EXISTS cloudstamp_event_append_only() CASCADE')
