from . import controllers, models, wizard


def _cloudstamp_post_init(env):
    """Give every new database its own root CA, signing and TSA certificates."""
    env['cloudstamp.certificate']._ensure_service_pki()
