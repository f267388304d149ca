{
    'name': 'CloudStamp: Purchase',
    'summary': 'Send purchase orders for agreement; link contracts and purchase orders both ways',
    'version': '18.0.1.0.0',
    'category': 'Productivity/CloudStamp',
    'author': 'CloudStamp',
    'license': 'LGPL-3',
    'depends': ['cloudstamp_archive', 'purchase'],
    'auto_install': True,
    'data': [
        'views/purchase_order_views.xml',
        'views/cloudstamp_contract_views.xml',
        'views/account_move_views.xml',
    ],
}
