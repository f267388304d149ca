import hashlib

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..engine import (
    KeyMaterialError,
    SigningIdentity,
    certificates_to_pem,
    generate_service_pki,
    load_pem_certificates,
)


class CloudStampCertificate(models.Model):
    """Key material of the signing service.

    The model has no access rights at all: only code running with ``sudo()``
    reads it, so private keys never reach a screen or an RPC client, not
    even an administrator's. Public parts are exposed through settings.
    """

    _name = 'cloudstamp.certificate'
    _description = 'CloudStamp Service Certificate'
    _order = 'id desc'

    role = fields.Selection(
        string='Role',
        selection=[
            ('root', 'Root CA'),
            ('signer', 'Document Signing'),
            ('tsa', 'Time Stamping Authority'),
            ('trusted', 'Additional Trusted Root'),
        ],
        required=True,
    )
    certificate_pem = fields.Text('Certificate (PEM)', required=True)
    chain_pem = fields.Text('Chain (PEM)', help='Certificates above this one, PEM.')
    private_key_pem = fields.Text('Private Key (PEM)')
    subject = fields.Char('Subject', compute='_compute_certificate_info', store=True)
    not_after = fields.Datetime('Valid Until', compute='_compute_certificate_info', store=True)
    sha256_fingerprint = fields.Char('SHA-256 Fingerprint', compute='_compute_certificate_info', store=True)
    active = fields.Boolean(default=True)

    @api.depends('certificate_pem')
    def _compute_certificate_info(self):
        for record in self:
            cert = load_pem_certificates(record.certificate_pem.encode())[0]
            record.subject = cert.subject.human_friendly
            record.not_after = cert['tbs_certificate']['validity']['not_after'] \
                .native.replace(tzinfo=None)
            record.sha256_fingerprint = hashlib.sha256(cert.dump()).hexdigest()

    # ------------------------------------------------------------------
    # Lookup (all sudo: callers are the signing service and settings)
    # ------------------------------------------------------------------
    def _current(self, role):
        return self.sudo().search([('role', '=', role)], limit=1)

    def _identity(self, role):
        record = self._current(role)
        if not record:
            raise UserError(_('CloudStamp has no %(role)s certificate yet.', role=role))
        return SigningIdentity.from_pem(
            record.certificate_pem.encode(),
            record.private_key_pem.encode(),
            (record.chain_pem or '').encode(),
        )

    def _trust_roots(self):
        """Our root CA plus any roots the administrator added."""
        records = self.sudo().search([('role', 'in', ('root', 'trusted'))])
        return [
            cert
            for record in records
            for cert in load_pem_certificates(record.certificate_pem.encode())
        ]

    # ------------------------------------------------------------------
    # Provisioning
    # ------------------------------------------------------------------
    @api.model
    def _ensure_service_pki(self):
        if self._current('signer'):
            return
        organization = self.env.company.name or 'CloudStamp'
        pki = generate_service_pki(organization)
        self.sudo().create([
            {'role': 'root', 'certificate_pem': pki.root_cert_pem.decode()},
            {
                'role': 'signer',
                'certificate_pem': pki.signer_cert_pem.decode(),
                'private_key_pem': pki.signer_key_pem.decode(),
                'chain_pem': pki.root_cert_pem.decode(),
            },
            {
                'role': 'tsa',
                'certificate_pem': pki.tsa_cert_pem.decode(),
                'private_key_pem': pki.tsa_key_pem.decode(),
                'chain_pem': pki.root_cert_pem.decode(),
            },
        ])

    @api.model
    def _install_pkcs12(self, data, password):
        """Replace the signing identity with an uploaded PKCS#12 and trust
        the top of its chain."""
        try:
            identity = SigningIdentity.from_pkcs12(
                data, password.encode() if password else None
            )
        except KeyMaterialError as exc:
            raise UserError(_('The PKCS#12 file could not be used: %s', exc)) from exc
        self._current('signer').active = False
        self.sudo().create({
            'role': 'signer',
            'certificate_pem': identity.certificate_pem().decode(),
            'private_key_pem': identity.key_pem().decode(),
            'chain_pem': identity.chain_pem().decode(),
        })
        if identity.chain:
            self._add_trusted_roots(identity.chain_pem())

    @api.model
    def _add_trusted_roots(self, pem):
        try:
            certs = load_pem_certificates(pem)
        except KeyMaterialError as exc:
            raise UserError(_('The trusted roots are not valid PEM certificates: %s', exc)) from exc
        known = set(self.sudo().search([('role', 'in', ('root', 'trusted'))])
                    .mapped('sha256_fingerprint'))
        for cert in certs:
            if hashlib.sha256(cert.dump()).hexdigest() not in known:
                self.sudo().create({
                    'role': 'trusted',
                    'certificate_pem': certificates_to_pem([cert]).decode(),
                })
