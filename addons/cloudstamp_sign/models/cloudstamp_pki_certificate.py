import dataclasses
import hashlib
import os
import secrets
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidTag

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import config

from cloudstamp_engine import (
    HsmError,
    KeyMaterialError,
    LeafRole,
    Pkcs11Config,
    Revocation,
    RevocationReason,
    SigningIdentity,
    ValidationMaterial,
    certificates_to_pem,
    crl_distribution_url,
    fetch_crls,
    generate_service_pki,
    generate_token_key,
    is_self_signed,
    issue_certificate_crl,
    issue_leaf_certificate,
    load_pem_certificates,
    timestamp_certificates,
    token_public_key,
)

from ..tools import master_key

KEY_PURPOSE = 'private-keys'
# Lifetime of the certificates the service's own CA issues, until an
# administrator sets cloudstamp.certificate_days (tests use short ones).
DEFAULT_CERTIFICATE_DAYS = 3650
# A certificate of our own CA is replaced this long before it expires, so
# every archive timestamp renewal gets a TSA certificate that outlives it.
ROTATION_MARGIN = timedelta(days=90)
# The RFC 5280 reasons an administrator may give, in words.
REVOCATION_REASONS = [
    (RevocationReason.UNSPECIFIED.value, 'Unspecified'),
    (RevocationReason.KEY_COMPROMISE.value, 'Key compromise'),
    (RevocationReason.AFFILIATION_CHANGED.value, 'Affiliation changed'),
    (RevocationReason.SUPERSEDED.value, 'Superseded'),
    (RevocationReason.CESSATION_OF_OPERATION.value, 'Cessation of operation'),
]
# Validators fetching a CRL from its distribution point see a revocation
# within this time.
PUBLISHED_CRL_VALIDITY = timedelta(days=7)


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
    # A key in a PKCS#11 token: where it is; the PIN encrypted like the keys.
    key_storage = fields.Selection(
        [('database', 'Database (encrypted)'), ('pkcs11', 'PKCS#11 token')], default='database', required=True
    )
    pkcs11_module = fields.Char('PKCS#11 Module')
    pkcs11_token_label = fields.Char('PKCS#11 Token Label')
    pkcs11_slot = fields.Integer('PKCS#11 Slot', default=-1, help='-1: find the token by its label.')
    pkcs11_key_label = fields.Char('PKCS#11 Key Label')
    pkcs11_pin_ciphertext = fields.Text('Encrypted PKCS#11 PIN')
    subject = fields.Char(compute='_compute_certificate_info', store=True)
    not_after = fields.Datetime('Valid Until', compute='_compute_certificate_info', store=True)
    sha256_fingerprint = fields.Char('SHA-256 Fingerprint', compute='_compute_certificate_info', store=True)
    serial_number = fields.Char(compute='_compute_certificate_info', store=True)
    active = fields.Boolean(default=True)
    revoked_at = fields.Datetime('Revoked Since', readonly=True)
    revocation_reason = fields.Selection(selection=REVOCATION_REASONS, readonly=True)

    @api.depends('certificate_pem')
    def _compute_certificate_info(self):
        for record in self:
            cert = load_pem_certificates(record.certificate_pem.encode())[0]
            record.subject = cert.subject.human_friendly
            record.not_after = cert['tbs_certificate']['validity']['not_after'].native.replace(tzinfo=None)
            record.sha256_fingerprint = hashlib.sha256(cert.dump()).hexdigest()
            # As text: serials are 159-bit numbers.
            record.serial_number = str(cert.serial_number)

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
    def _crl_base_url(self, company):
        """Where the CRLs of ``company``'s certificates are published; each
        certificate names ``<this>/<its serial in hex>.crl``."""
        base = self.env['ir.config_parameter'].sudo().get_param('web.base.url') or 'http://localhost:8069'
        return f'{base}/cloudstamp/crl/{company.id}'

    def _crl(self, next_update=None):
        """This certificate's CRL (DER), listing it if it was revoked; b''
        when the company's CA cannot sign one (a PKCS#12 of a public CA, a
        database set up before long-term validation) or the certificate
        names no distribution point."""
        self.ensure_one()
        root = self._current('root', self.company_id)
        if not self._issued_by_own_root(self.company_id) or not crl_distribution_url(
            x509.load_pem_x509_certificate(self.certificate_pem.encode())
        ):
            return b''
        revocation = (
            Revocation(
                int(self.serial_number), self.revoked_at.replace(tzinfo=UTC), RevocationReason(self.revocation_reason)
            )
            if self.revoked_at
            else None
        )
        return issue_certificate_crl(
            root.certificate_pem.encode(),
            root._private_key_pem(),
            self.certificate_pem.encode(),
            revocation,
            next_update=next_update,
        )

    @api.model
    def _published_crl(self, company_id, serial):
        """The CRL served at a distribution point, valid for a week (those in
        B-LTA files are valid until the certificate expires)."""
        record = (
            self.sudo()
            .with_context(active_test=False)
            .search(
                [
                    ('company_id', '=', company_id),
                    ('role', 'in', ('signer', 'tsa')),
                    ('serial_number', '=', str(serial)),
                ],
                limit=1,
            )
        )
        return record._crl(datetime.now(UTC) + PUBLISHED_CRL_VALIDITY) if record else b''

    def _validation_material(self, company=None, data=None):
        """What B-LTA embeds: every certificate the company signs and stamps
        with (earlier ones included, archived or not), its roots, and a CRL
        for each of them still valid. Expired ones need none: the CRLs that
        earlier updates put in the file cover them.

        With ``data``, also the certificates of an external TSA found in its
        newest timestamp, and their CRLs, fetched from their distribution
        points (:raises RevocationFetchError: when one cannot be fetched).
        """
        company = company or self.env.company
        self._current('root', company)
        records = (
            self.sudo()
            .with_context(active_test=False)
            .search([('role', 'in', ('signer', 'tsa')), ('company_id', '=', company.id)])
        )
        now = fields.Datetime.now()
        crls = tuple(crl for record in records.filtered(lambda r: r.not_after > now) if (crl := record._crl()))
        certificates = tuple(
            cert for record in records for cert in load_pem_certificates(record.certificate_pem.encode())
        )
        external = self._external_timestamp_certificates(data, company) if data is not None else ()
        return ValidationMaterial(
            trust_roots=tuple(self._trust_roots(company)),
            crls=crls + fetch_crls([cert for cert in external if not is_self_signed(cert)]),
            certificates=certificates + external,
        )

    def _external_timestamp_certificates(self, data, company):
        """The certificates of ``data``'s newest timestamp that are not the
        company's own: an external TSA's certificate and chain."""
        known = set(
            self.sudo()
            .with_context(active_test=False)
            .search([('company_id', '=', company.id)])
            .mapped('sha256_fingerprint')
        )
        return tuple(
            cert for cert in timestamp_certificates(data) if hashlib.sha256(cert.dump()).hexdigest() not in known
        )

    # ------------------------------------------------------------------
    # Provisioning
    # ------------------------------------------------------------------
    @api.model
    def _ensure_service_pki(self, company):
        """A root CA, signing and TSA certificates in ``company``'s name."""
        if self.sudo().search_count([('role', '=', 'signer'), ('company_id', '=', company.id)]):
            return
        pki = generate_service_pki(
            company.name or 'CloudStamp', leaf_days=self._certificate_days(), crl_base_url=self._crl_base_url(company)
        )
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
    def _certificate_days(self):
        params = self.env['ir.config_parameter'].sudo()
        return int(params.get_param('cloudstamp.certificate_days', DEFAULT_CERTIFICATE_DAYS))

    def _issued_by_own_root(self, company):
        """Whether this certificate comes from ``company``'s own CA, which
        can replace it (not from a PKCS#12 of a public CA; its key may be in
        a token)."""
        root = self._current('root', company)
        return bool(root.private_key_ciphertext) and (self.chain_pem or '').strip() == root.certificate_pem.strip()

    @api.model
    def _rotate_expiring(self, company):
        """Replace ``company``'s own signing and TSA certificates that
        expire within ROTATION_MARGIN with new ones (new keys): renewals and
        new signatures then use a certificate that outlives them."""
        limit = fields.Datetime.now() + ROTATION_MARGIN
        for role in (LeafRole.SIGNER, LeafRole.TSA):
            current = self._current(role.value, company)
            if current.not_after < limit and current._issued_by_own_root(company):
                current._replace_with_new_certificate(role, company)

    def _replace_with_new_certificate(self, role, company):
        """Archive this certificate and issue its successor from the
        company's root; the old one stays in the validation material."""
        self.ensure_one()
        if self.key_storage == 'pkcs11':
            # A new key, generated in the same token: it never leaves it either.
            config = dataclasses.replace(
                self._pkcs11_config(), key_label=f'{self.pkcs11_key_label.split("#")[0]}#{secrets.token_hex(4)}'
            )
            try:
                public_key = generate_token_key(config)
            except HsmError as exc:
                raise UserError(self.env._('No new key could be generated in the PKCS#11 token: %s', exc)) from exc
            return self._certify_token_key(config, public_key, company)
        root = self._current('root', company)
        issued = issue_leaf_certificate(
            root.certificate_pem.encode(),
            root._private_key_pem(),
            role,
            days=self._certificate_days(),
            crl_base_url=self._crl_base_url(company),
        )
        self.active = False
        return self.sudo().create(
            {
                'company_id': company.id,
                'role': role.value,
                'certificate_pem': issued.cert_pem.decode(),
                'chain_pem': root.certificate_pem,
                **self._private_key_values(issued.key_pem),
            }
        )

    # ------------------------------------------------------------------
    # Keys in a PKCS#11 token
    # ------------------------------------------------------------------
    @api.model
    def _allowed_pkcs11_modules(self):
        """The PKCS#11 modules the server's operator allows (odoo.conf
        ``cloudstamp_pkcs11_modules`` or CLOUDSTAMP_PKCS11_MODULES, comma
        separated): loading a module runs its code inside Odoo, so the
        settings may only choose among these."""
        value = os.environ.get('CLOUDSTAMP_PKCS11_MODULES') or config.get('cloudstamp_pkcs11_modules') or ''
        return [path.strip() for path in value.split(',') if path.strip()]

    def _pkcs11_config(self):
        self.ensure_one()
        key = master_key.derive_key(self.env, KEY_PURPOSE)
        pin = master_key.decrypt(key, self.sudo().pkcs11_pin_ciphertext).decode() if self.pkcs11_pin_ciphertext else ''
        return Pkcs11Config(
            module_path=self.pkcs11_module,
            token_label=self.pkcs11_token_label or '',
            slot_no=None if self.pkcs11_slot < 0 else self.pkcs11_slot,
            pin=pin,
            key_label=self.pkcs11_key_label,
        )

    @api.model
    def _install_pkcs11(self, pkcs11_config, company):
        """Sign for ``company`` with the key ``pkcs11_config`` names: the
        company's CA certifies its public key; the key stays in the token.

        :raises UserError: the module is not allowed, or the token, PIN or
            key does not answer.
        """
        if pkcs11_config.module_path not in self._allowed_pkcs11_modules():
            raise UserError(
                self.env._(
                    'The PKCS#11 module %(path)s is not allowed on this server. The server administrator lists '
                    'the allowed modules in cloudstamp_pkcs11_modules (odoo.conf).',
                    path=pkcs11_config.module_path,
                )
            )
        # PKCS#11 logs a whole process in: with our own sessions closed first,
        # the token checks this PIN rather than sharing their login.
        self.env['cloudstamp.signing.service']._forget_signer()
        try:
            public_key = token_public_key(pkcs11_config)
        except HsmError as exc:
            raise UserError(
                self.env._(
                    'The PKCS#11 token could not be used: check the module, the token label or slot, the PIN '
                    'and the key label. (%s)',
                    exc,
                )
            ) from exc
        return self._certify_token_key(pkcs11_config, public_key, company)

    def _certify_token_key(self, pkcs11_config, public_key, company):
        root = self._current('root', company)
        issued = issue_leaf_certificate(
            root.certificate_pem.encode(),
            root._private_key_pem(),
            LeafRole.SIGNER,
            days=self._certificate_days(),
            crl_base_url=self._crl_base_url(company),
            public_key_der=public_key,
        )
        self._current('signer', company).active = False
        key = master_key.derive_key(self.env, KEY_PURPOSE)
        return self.sudo().create(
            {
                'company_id': company.id,
                'role': 'signer',
                'certificate_pem': issued.cert_pem.decode(),
                'chain_pem': root.certificate_pem,
                'key_storage': 'pkcs11',
                'pkcs11_module': pkcs11_config.module_path,
                'pkcs11_token_label': pkcs11_config.token_label,
                'pkcs11_slot': -1 if pkcs11_config.slot_no is None else pkcs11_config.slot_no,
                'pkcs11_key_label': pkcs11_config.key_label,
                'pkcs11_pin_ciphertext': master_key.encrypt(key, pkcs11_config.pin.encode()),
                'private_key_key_id': master_key.key_id(key),
            }
        )

    @api.model
    def _revoke_signer(self, company, reason, revoked_at=None):
        """Revoke ``company``'s signing certificate from ``revoked_at`` on
        (for a compromised key: since when it may have been compromised)
        and sign from now on with a new one. The CRL lists it at once."""
        current = self._current('signer', company)
        if not current._issued_by_own_root(company):
            raise UserError(
                self.env._(
                    'This signing certificate was issued by another certification authority: '
                    'ask that authority to revoke it, then upload a new one.'
                )
            )
        current.write({'revoked_at': revoked_at or fields.Datetime.now(), 'revocation_reason': reason})
        return current._replace_with_new_certificate(LeafRole.SIGNER, company)

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
