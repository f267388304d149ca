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
        'data/ir_cron.xml',
        'views/cloudstamp_portal_templates.xml',
        'views/res_config_settings_views.xml',
    ],
    'assets': {
        'web.assets_tests': [
            'cloudstamp_portal/static/tests/tours/*.js',
        ],
    },
    'installable': True,
}
