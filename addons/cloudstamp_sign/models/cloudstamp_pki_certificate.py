import hashlib

from cryptography.exceptions import InvalidTag

from odoo import api, fields, models
from odoo.exceptions import UserError

from cloudstamp_engine import (
    KeyMaterialError,
    SigningIdentity,
    ValidationMaterial,
    certificates_to_pem,
    generate_service_pki,
    is_self_signed,
    issue_crl,
    load_pem_certificates,
)

from ..tools import master_key

KEY_PURPOSE = 'private-keys'


class CloudStampPkiCertificate(models.Model):
    """Key material of the signing service, one set per company.

    The model has no access rights at all: only code running with ``sudo()``
    reads it, so private keys never reach a screen or an RPC client. They are
    also encrypted with a key derived from the master key, which lives outside
    the database (see ``tools/master_key.py``): a database dump alone cannot
    sign. An administrator who can run server code on a server that holds the
    master key can still use them; no design inside Odoo prevents that.
    """

    _name = 'cloudstamp.pki.certificate'
    _description = 'CloudStamp Signing Certificate'
    _order = 'id desc'

    company_id = fields.Many2one('res.company', required=True, index=True)
    role = fields.Selection(
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
    private_key_ciphertext = fields.Text('Encrypted Private Key')
    private_key_key_id = fields.Char('Key Encryption Key ID')
    subject = fields.Char(compute='_compute_certificate_info', store=True)
    not_after = fields.Datetime('Valid Until', compute='_compute_certificate_info', store=True)
    sha256_fingerprint = fields.Char('SHA-256 Fingerprint', compute='_compute_certificate_info', store=True)
    active = fields.Boolean(default=True)

    @api.depends('certificate_pem')
    def _compute_certificate_info(self):
        for record in self:
            cert = load_pem_certificates(record.certificate_pem.encode())[0]
            record.subject = cert.subject.human_friendly
            record.not_after = cert['tbs_certificate']['validity']['not_after'].native.replace(tzinfo=None)
            record.sha256_fingerprint = hashlib.sha256(cert.dump()).hexdigest()

    # ------------------------------------------------------------------
    # Lookup (all sudo: callers are the signing service and settings)
    # ------------------------------------------------------------------
    def _current(self, role, company=None):
        """The active certificate of ``role`` for ``company`` (default: the
        current one); the company's PKI is created the first time it is needed."""
        company = company or self.env.company
        record = self.sudo().search([('role', '=', role), ('company_id', '=', company.id)], limit=1)
        if not record and role in ('root', 'signer', 'tsa'):
            self._ensure_service_pki(company)
            record = self.sudo().search([('role', '=', role), ('company_id', '=', company.id)], limit=1)
        return record

    def _identity(self, role, company=None):
        record = self._current(role, company)
        return SigningIdentity.from_pem(
            record.certificate_pem.encode(),
            record._private_key_pem(),
            (record.chain_pem or '').encode(),
        )

    def _private_key_pem(self):
        self.ensure_one()
        key = master_key.derive_key(self.env, KEY_PURPOSE)
        if self.private_key_key_id != master_key.key_id(key):
            raise UserError(
                self.env._(
                    'The key that encrypts the CloudStamp signing keys has changed. Restore the '
                    'master key this database was set up with (CLOUDSTAMP_MASTER_KEY or '
                    'cloudstamp_master_key in odoo.conf).'
                )
            )
        try:
            return master_key.decrypt(key, self.sudo().private_key_ciphertext)
        except InvalidTag as exc:
            raise UserError(self.env._('The CloudStamp signing key cannot be decrypted.')) from exc

    @api.model
    def _private_key_values(self, key_pem):
        key = master_key.derive_key(self.env, KEY_PURPOSE)
        return {
            'private_key_ciphertext': master_key.encrypt(key, key_pem),
            'private_key_key_id': master_key.key_id(key),
        }

    def _trust_roots(self, company=None):
        """The company's root CA plus any roots its administrator added."""
        company = company or self.env.company
        self._current('root', company)
        records = self.sudo().search([('role', 'in', ('root', 'trusted')), ('company_id', '=', company.id)])
        return [cert for record in records for cert in load_pem_certificates(record.certificate_pem.encode())]

    @api.model
    def _crl_url(self, company):
        base = self.env['ir.config_parameter'].sudo().get_param('web.base.url') or 'http://localhost:8069'
        return f'{base}/cloudstamp/crl/{company.id}.crl'

    def _current_crl(self, company=None):
        """A fresh CRL (DER) of ``company``'s root, or b'' for a root whose
        key was not kept (databases set up before long-term validation)."""
        root = self._current('root', company)
        if not root.private_key_ciphertext:
            return b''
        return issue_crl(root.certificate_pem.encode(), root._private_key_pem())

    def _validation_material(self, company=None):
        """What B-LTA embeds: every certificate the company signs and stamps
        with (earlier ones included, archived or not), its roots, its CRL."""
        company = company or self.env.company
        crl = self._current_crl(company)
        records = (
            self.sudo()
            .with_context(active_test=False)
            .search([('role', 'in', ('signer', 'tsa')), ('company_id', '=', company.id)])
        )
        certificates = tuple(
            cert for record in records for cert in load_pem_certificates(record.certificate_pem.encode())
        )
        return ValidationMaterial(
            trust_roots=tuple(self._trust_roots(company)), crls=(crl,) if crl else (), certificates=certificates
        )

    # ------------------------------------------------------------------
    # Provisioning
    # ------------------------------------------------------------------
    @api.model
    def _ensure_service_pki(self, company):
        """A root CA, signing and TSA certificates in ``company``'s name."""
        if self.sudo().search_count([('role', '=', 'signer'), ('company_id', '=', company.id)]):
            return
        pki = generate_service_pki(company.name or 'CloudStamp', crl_url=self._crl_url(company))
        root = pki.root_cert_pem.decode()
        self.sudo().create(
            [
                # The root's key is kept (encrypted) to sign its CRLs.
                {
                    'company_id': company.id,
                    'role': 'root',
                    'certificate_pem': root,
                    **self._private_key_values(pki.root_key_pem),
                },
                {
                    'company_id': company.id,
                    'role': 'signer',
                    'certificate_pem': pki.signer_cert_pem.decode(),
                    'chain_pem': root,
                    **self._private_key_values(pki.signer_key_pem),
                },
                {
                    'company_id': company.id,
                    'role': 'tsa',
                    'certificate_pem': pki.tsa_cert_pem.decode(),
                    'chain_pem': root,
                    **self._private_key_values(pki.tsa_key_pem),
                },
            ]
        )

    @api.model
    def _install_pkcs12(self, data, password, company):
        """Replace ``company``'s signing identity with an uploaded PKCS#12
        and trust the root of its chain."""
        try:
            identity = SigningIdentity.from_pkcs12(data, password.encode() if password else None)
        except KeyMaterialError as exc:
            raise UserError(self.env._('The PKCS#12 file could not be used: %s', exc)) from exc
        self._current('signer', company).active = False
        self.sudo().create(
            {
                'company_id': company.id,
                'role': 'signer',
                'certificate_pem': identity.certificate_pem().decode(),
                'chain_pem': identity.chain_pem().decode(),
                **self._private_key_values(identity.key_pem()),
            }
        )
        # A public CA's PKCS#12 often carries intermediates only: nothing to trust then.
        self._add_trusted_roots(identity.chain_pem(), company, require_root=False)

    @api.model
    def _add_trusted_roots(self, pem, company, require_root=True):
        """Trust the self-signed certificates of ``pem``; intermediates are
        not roots and are ignored."""
        try:
            certs = load_pem_certificates(pem) if pem.strip() else []
        except KeyMaterialError as exc:
            raise UserError(self.env._('The trusted roots are not valid PEM certificates: %s', exc)) from exc
        roots = [cert for cert in certs if is_self_signed(cert)]
        if not roots and require_root:
            raise UserError(self.env._('None of these certificates is a root (self-signed) certificate.'))
        known = set(
            self.sudo()
            .search([('role', 'in', ('root', 'trusted')), ('company_id', '=', company.id)])
            .mapped('sha256_fingerprint')
        )
        for cert in roots:
            if hashlib.sha256(cert.dump()).hexdigest() not in known:
                self.sudo().create(
                    {
                        'company_id': company.id,
                        'role': 'trusted',
                        'certificate_pem': certificates_to_pem([cert]).decode(),
                    }
                )
