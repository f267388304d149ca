from . import controllers, models, tools, wizard


def _cloudstamp_post_init(env):
    """Give every new database its own root CA, signing and TSA certificates,
    and Japanese, the language of most recipients, with its translations."""
    env['cloudstamp.certificate']._ensure_service_pki()
    if not env['res.lang']._lang_get('ja_JP'):
        env['res.lang']._activate_lang('ja_JP')
        env['ir.module.module'].search(
            [('state', 'in', ('installed', 'to install', 'to upgrade'))]
        )._update_translations(['ja_JP'])
