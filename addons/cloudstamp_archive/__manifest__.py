{
    'name': 'CloudStamp: Contract Archive',
    'summary': 'Store, search and renew agreed contracts',
    'version': '18.0.1.0.0',
    'category': 'Productivity/CloudStamp',
    'author': 'CloudStamp',
    'license': 'LGPL-3',
    'depends': ['cloudstamp_sign'],
    'data': [
        'security/ir.model.access.csv',
    ],
}
