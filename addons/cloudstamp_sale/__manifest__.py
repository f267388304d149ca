{
    'name': 'CloudStamp: Sales',
    'summary': 'Send quotations for agreement; link contracts and sales orders both ways',
    'version': '18.0.1.0.0',
    'category': 'Productivity/CloudStamp',
    'author': 'CloudStamp',
    'license': 'LGPL-3',
    'depends': ['cloudstamp_archive', 'sale'],
    'auto_install': True,
    'data': [
        'views/sale_order_views.xml',
        'views/cloudstamp_contract_views.xml',
        'views/account_move_views.xml',
        'views/res_config_settings_views.xml',
    ],
    'assets': {
        'web.assets_tests': [
            'cloudstamp_sale/static/tests/tours/*.js',
        ],
    },
}
