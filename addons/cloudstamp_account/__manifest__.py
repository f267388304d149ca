{
    'name': 'CloudStamp: Invoicing',
    'summary': 'Send invoices for agreement; link contracts and invoices or bills both ways',
    'version': '18.0.1.0.0',
    'category': 'Productivity/CloudStamp',
    'author': 'CloudStamp',
    'license': 'LGPL-3',
    'depends': ['cloudstamp_archive', 'account'],
    'auto_install': True,
    'data': [
        'views/account_move_views.xml',
        'views/cloudstamp_contract_views.xml',
    ],
}
