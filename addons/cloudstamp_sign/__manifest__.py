{
    'name': 'CloudStamp: Electronic Contracts',
    'summary': 'Send PDFs for agreement and seal every step with a '
               'PAdES signature and an RFC 3161 timestamp',
    'version': '18.0.1.0.0',
    'category': 'Productivity/CloudStamp',
    'author': 'CloudStamp',
    'license': 'LGPL-3',
    'depends': ['base_setup', 'mail'],
    'external_dependencies': {
        'python': ['pyhanko', 'pyhanko_certvalidator', 'cryptography', 'pypdf'],
    },
    'data': [
        'security/cloudstamp_security.xml',
        'security/ir.model.access.csv',
        'security/cloudstamp_rules.xml',
        'data/mail_templates.xml',
        'data/ir_cron.xml',
        'views/cloudstamp_menus.xml',
        'views/cloudstamp_envelope_views.xml',
        'wizard/cloudstamp_verify_wizard_views.xml',
        'views/res_config_settings_views.xml',
        'views/res_users_views.xml',
    ],
    'post_init_hook': '_cloudstamp_post_init',
    'installable': True,
    'application': True,
}
