from odoo import api, models


class CloudStampBulkSend(models.Model):
    """Per-row contract metadata for bulk sends: the CSV's amount and dates
    fill the contract each document becomes."""

    _inherit = 'cloudstamp.bulk.send'

    @api.model
    def _bulk_metadata_columns(self):
        return {
            **super()._bulk_metadata_columns(),
            'amount': ('contract_amount', 'amount'),
            'date_start': ('contract_date_start', 'date'),
            'date_end': ('contract_date_end', 'date'),
            'transaction_date': ('contract_transaction_date', 'date'),
        }
