import base64

from odoo import api, fields, models

from cloudstamp_engine import Pkcs11Config

from ..tools import master_key
from .cloudstamp_signing_service import DEFAULT_MAX_FILE_MB, DEFAULT_MAX_SEND_MB


class ResConfigSettings(models.TransientModel):
    _inherit = 'res.config.settings'

    cloudstamp_max_file_mb = fields.Float(
        'Maximum size per file (MB)', default=DEFAULT_MAX_FILE_MB, config_parameter='cloudstamp.max_file_mb'
    )
    cloudstamp_max_send_mb = fields.Float(
        'Maximum size per send (MB)', default=DEFAULT_MAX_SEND_MB, config_parameter='cloudstamp.max_send_mb'
    )
    # Business defaults belong to each company; technical limits to the database.
    cloudstamp_expiry_days = fields.Integer(
        'Default expiry (days)', related='company_id.cloudstamp_expiry_days', readonly=False
    )
    cloudstamp_remind_after_days = fields.Integer(
        'Remind after (days)', related='company_id.cloudstamp_remind_after_days', readonly=False
    )
    cloudstamp_evidence_renewal_days = fields.Integer(
        'Renew evidence every (days)', related='company_id.cloudstamp_evidence_renewal_days', readonly=False
    )
    cloudstamp_tsa_url = fields.Char(
        'Time Stamping Authority URL',
        config_parameter='cloudstamp.tsa_url',
        help='An RFC 3161 TSA. Leave empty to use the built-in TSA.',
    )
    cloudstamp_tsa_username = fields.Char('TSA Username', config_parameter='cloudstamp.tsa_username')
    cloudstamp_tsa_password = fields.Char('TSA Password', config_parameter='cloudstamp.tsa_password')
    cloudstamp_pkcs12_file = fields.Binary(
        'Signing Certificate (PKCS#12)',
        attachment=False,
        help='A .p12/.pfx file with the private key and its certificate chain.',
    )
    cloudstamp_pkcs12_password = fields.Char('PKCS#12 Password')
    cloudstamp_trusted_roots_file = fields.Binary('Additional Trusted Roots (PEM)', attachment=False)
    # A key in a hardware token; applied on Save, the PIN never shown again.
    cloudstamp_pkcs11_module = fields.Char(
        'PKCS#11 Module', help="The path of the token's PKCS#11 library, one the server administrator allowed."
    )
    cloudstamp_pkcs11_token_label = fields.Char('Token Label')
    cloudstamp_pkcs11_slot = fields.Integer('Slot', default=-1, help='-1: find the token by its label.')
    cloudstamp_pkcs11_key_label = fields.Char('Key Label', default='cloudstamp-signer')
    cloudstamp_pkcs11_pin = fields.Char('PIN')
    cloudstamp_signer_key_storage = fields.Char('Key Storage', compute='_compute_cloudstamp_certificates')
    cloudstamp_signer_subject = fields.Char('Signing Certificate', compute='_compute_cloudstamp_certificates')
    cloudstamp_signer_not_after = fields.Datetime('Valid Until', compute='_compute_cloudstamp_certificates')
    cloudstamp_root_fingerprint = fields.Char('Root CA SHA-256', compute='_compute_cloudstamp_certificates')
    cloudstamp_master_key_configured = fields.Boolean(
        'CloudStamp Master Key Configured', compute='_compute_cloudstamp_master_key_configured'
    )

    # Without dependencies, a new settings record (the form) never computes them.
    @api.depends('company_id')
    def _compute_cloudstamp_certificates(self):
        certificates = self.env['cloudstamp.pki.certificate']
        for settings in self:
            signer = certificates._current('signer', settings.company_id)
            settings.cloudstamp_signer_subject = signer.subject
            settings.cloudstamp_signer_not_after = signer.not_after
            settings.cloudstamp_signer_key_storage = dict(
                signer._fields['key_storage']._description_selection(self.env)
            ).get(signer.key_storage)
            settings.cloudstamp_root_fingerprint = certificates._current('root', settings.company_id).sha256_fingerprint

    def _compute_cloudstamp_master_key_configured(self):
        self.cloudstamp_master_key_configured = bool(master_key.configured_master_key())

    def set_values(self):
        result = super().set_values()
        certificates = self.env['cloudstamp.pki.certificate']
        for settings in self:
            if settings.cloudstamp_pkcs12_file:
                certificates._install_pkcs12(
                    base64.b64decode(settings.cloudstamp_pkcs12_file),
                    settings.cloudstamp_pkcs12_password,
                    settings.company_id,
                )
            if settings.cloudstamp_pkcs11_module:
                certificates._install_pkcs11(
                    Pkcs11Config(
                        module_path=settings.cloudstamp_pkcs11_module.strip(),
                        token_label=(settings.cloudstamp_pkcs11_token_label or '').strip(),
                        slot_no=None if settings.cloudstamp_pkcs11_slot < 0 else settings.cloudstamp_pkcs11_slot,
                        pin=settings.cloudstamp_pkcs11_pin or '',
                        key_label=(settings.cloudstamp_pkcs11_key_label or '').strip(),
                    ),
                    settings.company_id,
                )
            if settings.cloudstamp_trusted_roots_file:
                certificates._add_trusted_roots(
                    base64.b64decode(settings.cloudstamp_trusted_roots_file), settings.company_id
                )
        # The uploaded key and its password must not stay in this (transient,
        # but stored) table until the next vacuum.
        self.sudo().write(
            {
                'cloudstamp_pkcs12_file': False,
                'cloudstamp_pkcs12_password': False,
                'cloudstamp_trusted_roots_file': False,
                'cloudstamp_pkcs11_module': False,
                'cloudstamp_pkcs11_pin': False,
            }
        )
        return result

    def action_cloudstamp_download_root_ca(self):
        return {
            'type': 'ir.actions.act_url',
            'url': '/cloudstamp/root_ca.crt',
            'target': 'download',
        }
