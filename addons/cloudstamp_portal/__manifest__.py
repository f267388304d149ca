{
    'name': 'CloudStamp: Recipient Pages',
    'summary': 'Pages where recipients without an account read and agree',
    'version': '18.0.1.0.0',
    'category': 'Productivity/CloudStamp',
    'author': 'CloudStamp',
    'license': 'LGPL-3',
    'depends': ['cloudstamp_sign', 'portal'],
    'data': [
        'security/ir.model.access.csv',
        'data/mail_message_subtype_data.xml',
        'data/mail_template_data.xml',
        'views/cloudstamp_envelope_views.xml',
        'views/cloudstamp_portal_templates.xml',
        'views/cloudstamp_seal_templates.xml',
        'views/cloudstamp_verify_templates.xml',
        'views/res_config_settings_views.xml',
    ],
    'assets': {
        # The seal picker: a plain script, loaded only by the pages showing it.
        'cloudstamp_portal.assets_seal': [
            'cloudstamp_portal/static/src/js/seal_picker.js',
        ],
        'web.assets_tests': [
            'cloudstamp_portal/static/tests/tours/*.js',
        ],
    },
    'post_init_hook': '_cloudstamp_portal_post_init',
    # The signing addon's links open these pages: wherever it is installed,
    # so are they (no installable combination mails a dead link).
    'auto_install': ['cloudstamp_sign'],
}
