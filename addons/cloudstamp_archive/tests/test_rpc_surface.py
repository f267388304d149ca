"""Every public method of every CloudStamp model is an RPC endpoint: walk
them all, over JSON-RPC and XML-RPC, as five kinds of caller.

Who may call what is written down below. Every other call is made, with
realistic arguments, and must be refused (AccessError, AccessDenied, an
expired session, or "private method"). A method nobody has decided about is
refused to everyone, so a public method added later fails this test until
someone writes down who may call it, and why.

Three kinds of method are walked:

- CloudStamp's own public methods, on its models and on Odoo's
  (``res.config.settings``, ``ir.attachment``): each has an entry in
  ``DECISIONS``;
- Odoo's data API on the CloudStamp models (read, write, create, unlink,
  copy, export, import, translations, chatter, activities): refused unless
  ``DECISIONS`` allows it;
- Odoo's introspection methods, which read no record (``FRAMEWORK_HARMLESS``,
  a short list with the reason for each). Their answers must not contain any
  CloudStamp data.

Afterwards the target envelope's evidence must be exactly what it was.
"""

import base64
import inspect
import json
import xmlrpc.client

from odoo import Command, models
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from cloudstamp_engine_testing.pdf_samples import contract_pdf

ROLES = ('anonymous', 'portal', 'stranger', 'owner', 'admin')
# Odoo refuses exports to users outside "Allow export" with a UserError.
EXPORT_REFUSED = "You don't have the rights to export data"
TEMPLATE_XMLID = 'cloudstamp_rpc_test.static_template'

# The evidence issue 7 names (states, times, tokens, code hashes, attempts,
# hashes, signed files, the certificate of agreement, the document ID),
# written down here rather than read from the models' own lists, so that a
# field dropped from a model's _get_workflow_fields() fails the test.
EVIDENCE_FIELDS = {
    'cloudstamp.envelope': (
        'state', 'document_ref', 'current_recipient_id', 'sent_date', 'completed_date', 'end_reason',
        'revised_from_id', 'agreement_certificate_file', 'trail_head', 'evidence_valid_until',
    ),
    'cloudstamp.envelope.file': (
        'signed_file', 'original_sha256', 'current_sha256', 'revision_hashes', 'page_count', 'file_size',
        'archive_timestamp_date', 'evidence_valid_until',
    ),
    'cloudstamp.recipient': (
        'state', 'notified_at', 'opened_at', 'terms_accepted_at', 'agreed_at', 'forwarded_at', 'forwarded_from_id',
        'forward_depth', 'last_ip', 'token_hash', 'token_expiry', 'access_code_hash', 'has_access_code',
        'link_serial', 'failed_code_attempts', 'locked',
    ),
}  # fmt: skip

SENDERS = frozenset({'stranger', 'owner', 'admin'})
OWNER_ADMIN = frozenset({'owner', 'admin'})
ADMIN = frozenset({'admin'})

# Odoo's own methods that read no record of the model: they describe the
# model or the caller, or do nothing useful over RPC. Any logged-in caller.
FRAMEWORK_HARMLESS = {
    'fields_get': "field definitions, filtered by the fields' groups",
    'default_get': 'default values for a new record',
    'onchange': 'values for a form being edited; stores nothing',
    'get_views': 'view definitions',
    'get_view': 'a view definition',
    'load_views': 'view definitions',
    'get_formview_id': 'which form view to open',
    'get_formview_action': 'which form view to open',
    'view_header_get': 'a view title',
    'get_empty_list_help': 'the help text of an empty list',
    'get_import_templates': 'import templates',
    'mail_allowed_qweb_expressions': 'a constant',
    'get_base_url': 'the server address',
    'is_transient': 'a constant',
    'has_access': 'yes or no about the caller',
    'check_access': 'raises when the caller may not, answers nothing otherwise',
    'check_access_rights': 'same, for the model',
    'check_access_rule': 'same, for the records',
    'check_field_access_rights': 'the fields the caller may use',
    'exists': 'which of the given ids exist, nothing of their content',
    'get_external_id': 'the XML ids of given ids, nothing of their content',
    'browse': 'in memory, over RPC only echoes the ids',
    'update': 'in memory; writes nothing',
    'modified': 'in memory; writes nothing',
    'pool': 'not callable over RPC',
    'clear_caches': "Odoo's registry caches, no data",
    'copy_translations': 'needs records, not ids: does nothing over RPC',
    'notify_cancel_by_type': "mail: cancels the caller's own failed notifications",
    'get_property_definition': 'the definition of a properties field',
    'get_metadata': 'ids, dates and who created or last wrote a record: no content',
    'message_change_thread': 'needs a record, not an id: cannot be called over RPC',
    'message_parse': 'needs a Python email object: cannot be called over RPC',
    'message_route': 'needs a Python email object: cannot be called over RPC',
    # Harmless on models without translatable fields (see is_harmless).
    'get_field_translations': 'see above',
    'update_field_translations': 'see above',
    'web_update_field_translations': 'see above',
    'web_override_translations': 'see above',
}
TRANSLATION_METHODS = {
    'get_field_translations',
    'update_field_translations',
    'web_update_field_translations',
    'web_override_translations',
}
SEARCHES = {
    # Filtered by the record rules: a stranger finds none of the owner's
    # records (proven below: answers carry no CloudStamp data).
    'search',
    'search_read',
    'search_count',
    'search_fetch',
    'name_search',
    'read_group',
    'web_search_read',
    'web_read_group',
    'read_progress_bar',
    'search_panel_select_range',
    'search_panel_select_multi_range',
}
READS = {'read', 'web_read', 'fetch', 'export_data', 'copy_data'}
ENVELOPE_SENDER_ACTIONS = {
    # Each checks write access (the sender, or a CloudStamp administrator) first.
    'action_send',
    'action_remind',
    'action_cancel',
    'action_revise',
    'action_verify_trail',
    # Opens the list of this document's revisions (read access checked).
    'action_view_revisions',
    # Opens the contract filed from this document (read access checked).
    'action_view_contract',
    # Opens the page where the sender places their seal on a draft (write access checked).
    'action_place_seal',
}
CHATTER = {
    # Chatter and activities on an envelope, under mail's own access checks.
    'message_post',
    'message_subscribe',
    'message_unsubscribe',
    'message_get_followers',
    'activity_schedule',
    'activity_send_mail',
    'message_post_with_source',
    'message_mail_with_source',
    'message_notify',
    'message_update',
}
# Activities are mail.activity records, which mail's rules confine to
# documents the caller can read: for anyone else these find nothing (the
# target envelope's activity stays: see evidence()).
ACTIVITIES = {'activity_feedback', 'activity_unlink', 'activity_reschedule', 'activity_search'}
# A sender creates their own drafts; the evidence guard refuses every
# workflow field, and every change once sent (test_evidence_guard).
DRAFTING = {'create', 'name_create', 'web_save', 'load'}

DECISIONS = {
    'cloudstamp.envelope': {
        # message_new and message_process: the mail gateway creating the caller's own draft.
        **dict.fromkeys(SEARCHES | DRAFTING | ACTIVITIES | {'message_new', 'message_process'}, SENDERS),
        # action_open_origin: the order or invoice it was prepared from (read access checked).
        **dict.fromkeys(READS | ENVELOPE_SENDER_ACTIONS | CHATTER | {'copy', 'action_open_origin'}, OWNER_ADMIN),
    },
    'cloudstamp.envelope.file': {**dict.fromkeys(SEARCHES | DRAFTING, SENDERS), **dict.fromkeys(READS, OWNER_ADMIN)},
    'cloudstamp.recipient': {
        **dict.fromkeys(SEARCHES | DRAFTING, SENDERS),
        **dict.fromkeys(READS | {'action_unlock'}, OWNER_ADMIN),
    },
    'cloudstamp.event': {**dict.fromkeys(SEARCHES, SENDERS), **dict.fromkeys(READS, OWNER_ADMIN)},
    'cloudstamp.verify.wizard': {
        # Transient: each user reaches only the wizards they made themselves.
        **dict.fromkeys(SEARCHES | DRAFTING, SENDERS),
        **dict.fromkeys(READS | {'write', 'copy', 'action_verify'}, frozenset({'owner'})),
    },
    'cloudstamp.access.failure': dict.fromkeys(SEARCHES | READS, ADMIN),
    # The archive. Senders see and complete the contracts of their own sends;
    # only administrators delete, and only after the retention period.
    'cloudstamp.contract': {
        **dict.fromkeys(SEARCHES | ACTIVITIES, SENDERS),
        **dict.fromkeys(
            READS
            | CHATTER
            | {'write', 'web_save', 'action_open_envelope', 'toggle_active', 'action_archive', 'action_unarchive'}
            # Confirming or dismissing suggestions: write access checked first.
            | {'action_apply_suggestions', 'action_dismiss_suggestions'},
            OWNER_ADMIN,
        ),
        'unlink': ADMIN,
        # The orders and invoices linked to a contract, for those with sales,
        # purchase or billing rights (the field's groups).
        **dict.fromkeys({'action_view_sale_orders', 'action_view_purchase_orders', 'action_view_invoices'}, ADMIN),
    },
    # Import and download wizards: transient, each user's own; importing is
    # for contract readers, downloading for administrators (the ACL and a
    # group check in the action).
    'cloudstamp.contract.import': dict.fromkeys(
        SEARCHES | DRAFTING | READS | {'write', 'copy', 'action_import'}, ADMIN
    ),
    'cloudstamp.contract.export': dict.fromkeys(
        SEARCHES | DRAFTING | READS | {'write', 'copy', 'action_download'}, ADMIN
    ),
    # Revoking the company's signing certificate: Odoo administrators only
    # (the access rights, and the method's own check).
    'cloudstamp.certificate.revoke': dict.fromkeys(
        SEARCHES | DRAFTING | READS | {'write', 'copy', 'action_revoke'}, ADMIN
    ),
    # Types and tags: read by every CloudStamp user; changed, and the type
    # names translated, by administrators.
    'cloudstamp.contract.type': {
        # action_unarchive on an active type changes nothing (an archived one
        # needs write rights).
        **dict.fromkeys(SEARCHES | READS | {'get_field_translations', 'action_unarchive'}, SENDERS),
        **dict.fromkeys(
            DRAFTING
            | {'write', 'copy', 'unlink', 'toggle_active', 'action_archive'}
            | TRANSLATION_METHODS - {'get_field_translations'},
            ADMIN,
        ),
    },
    'cloudstamp.contract.tag': {
        **dict.fromkeys(SEARCHES | READS, SENDERS),
        **dict.fromkeys(DRAFTING | {'write', 'copy', 'unlink'}, ADMIN),
    },
    # Templates: every sender makes their own; the owner (and administrators)
    # read, change and send from a personal one. Sharing is tested in
    # cloudstamp_sign's test_templates.
    'cloudstamp.template': {
        **dict.fromkeys(SEARCHES | DRAFTING | {'message_new', 'message_process'}, SENDERS),
        **dict.fromkeys(
            READS
            | CHATTER
            | {'write', 'copy', 'unlink', 'toggle_active', 'action_archive', 'action_unarchive'}
            # Each checks read access first.
            | {'action_new_envelope', 'action_view_envelopes'},
            OWNER_ADMIN,
        ),
    },
    **{
        model: {
            **dict.fromkeys(SEARCHES | DRAFTING, SENDERS),
            **dict.fromkeys(READS | {'write', 'copy', 'unlink'}, OWNER_ADMIN),
        }
        for model in ('cloudstamp.template.file', 'cloudstamp.template.role')
    },
    # Bulk sends: each sender makes their own; the owner (and administrators)
    # preview, start, cancel and retry them, each checking write access
    # first. Rows are only read: the workflow writes them, as superuser.
    'cloudstamp.bulk.send': {
        **dict.fromkeys(SEARCHES | DRAFTING | {'message_new', 'message_process'}, SENDERS),
        **dict.fromkeys(
            READS
            | CHATTER
            | {'write', 'copy', 'unlink'}
            | {'action_preview', 'action_start', 'action_cancel', 'action_retry_failed', 'action_view_envelopes'},
            OWNER_ADMIN,
        ),
    },
    'cloudstamp.bulk.send.line': {**dict.fromkeys(SEARCHES, SENDERS), **dict.fromkeys(READS, OWNER_ADMIN)},
    # "New from template": transient, each sender's own; making the draft
    # checks read access to the template.
    **{
        model: {
            **dict.fromkeys(SEARCHES | DRAFTING, SENDERS),
            **dict.fromkeys(READS | {'write', 'copy', 'action_create_draft'}, frozenset({'owner'})),
        }
        for model in ('cloudstamp.template.send', 'cloudstamp.template.send.line')
    },
    # Teams: CloudStamp administrators manage them (the form, the Add Member
    # wizard, deactivating a member's user: each checks who the user is, see
    # cloudstamp_sign's test_teams); members only read their own teams, which
    # strangers and owners here are not in. No team is made from a mail.
    'cloudstamp.team': {
        **dict.fromkeys(SEARCHES, SENDERS),
        **dict.fromkeys(
            READS
            | DRAFTING
            | CHATTER
            | {'write', 'copy', 'unlink', 'toggle_active', 'action_archive', 'action_unarchive'},
            ADMIN,
        ),
    },
    'cloudstamp.team.member': {
        **dict.fromkeys(SEARCHES, SENDERS),
        **dict.fromkeys(
            READS | DRAFTING | {'write', 'copy', 'unlink', 'action_deactivate', 'action_reactivate'}, ADMIN
        ),
    },
    'cloudstamp.team.member.add': dict.fromkeys(SEARCHES | DRAFTING | READS | {'write', 'copy', 'action_add'}, ADMIN),
    # Key material, the signing service, the renderer and the guard: nobody.
    'cloudstamp.pki.certificate': {},
    'cloudstamp.signing.service': {},
    'cloudstamp.evidence.mixin': {},
    # CloudStamp's public methods on Odoo's own models:
    'res.config.settings': {
        'set_values': ADMIN,  # the settings form's Save; settings are for administrators only
        # Returns the address of the root CA download, which needs a login itself.
        'action_cloudstamp_download_root_ca': frozenset({'portal', 'stranger', 'owner', 'admin'}),
    },
    # The evidence files: nobody writes, creates or deletes them.
    'ir.attachment': {},
    # Only adds the default terms' translations; Odoo's rights decide who creates companies.
    'res.company': {'create': ADMIN},
    # The action opening a partner's contracts, for those who may read contracts.
    'res.partner': {'action_view_cloudstamp_contracts': SENDERS},
    # The agreement mixin: abstract, its methods live on the documents below.
    'cloudstamp.agreement.mixin': {},
    # The bridges, when Sales, Purchase and Invoicing are installed: sending
    # needs write access to the document (the administrator here; the RPC
    # roles have no sales, purchase or billing rights), and so does linking
    # (the mixin's write).
    **{
        model: dict.fromkeys(
            {'action_cloudstamp_send_for_agreement', 'action_view_cloudstamp_contracts', 'write'}, ADMIN
        )
        for model in ('sale.order', 'purchase.order', 'account.move')
    },
}


def bridge_targets(env):
    """A document of each installed app the bridges extend."""
    partner = env['res.partner'].create({'name': 'RPC Customer', 'email': 'rpc@customer.example'})
    targets = {}
    if 'sale.order' in env:
        targets['sale.order'] = env['sale.order'].create({'partner_id': partner.id})
    if 'purchase.order' in env:
        targets['purchase.order'] = env['purchase.order'].create({'partner_id': partner.id})
    if 'account.move' in env:
        targets['account.move'] = env['account.move'].create({'move_type': 'out_invoice', 'partner_id': partner.id})
    return targets


def template_targets(owner_env):
    """The owner's personal template, its file and role, and their "New from
    template" wizard."""
    template = owner_env['cloudstamp.template'].create(
        {
            'name': '秘密保持契約書 テンプレート',
            'file_ids': [Command.create({'name': 'nda.pdf', 'file': base64.b64encode(contract_pdf())})],
            'role_ids': [Command.create({'name': '先方担当者'})],
        }
    )
    send = owner_env['cloudstamp.template.send'].create({'template_id': template.id})
    return {
        'cloudstamp.template': template,
        'cloudstamp.template.file': template.file_ids,
        'cloudstamp.template.role': template.role_ids,
        'cloudstamp.template.send': send,
        'cloudstamp.template.send.line': send.line_ids,
    }


def bulk_targets(owner_env):
    """The owner's previewed bulk send (one valid row, one invalid) and a row."""
    template = owner_env['cloudstamp.template'].create(
        {
            'name': '一括送信 テンプレート',
            'file_ids': [Command.create({'name': 'bulk.pdf', 'file': base64.b64encode(contract_pdf())})],
            'role_ids': [Command.create({'name': '先方担当者'})],
        }
    )
    csv_data = b'name,email,access_code\nA,a@partner.example,Sakura2026\nB,not-an-address,\n'
    batch = owner_env['cloudstamp.bulk.send'].create(
        {'template_id': template.id, 'csv_file': base64.b64encode(csv_data), 'csv_filename': 'rows.csv'}
    )
    batch.action_preview()
    return {'cloudstamp.bulk.send': batch, 'cloudstamp.bulk.send.line': batch.line_ids[:1]}


def team_targets(env, admin_env):
    """A team with one member (none of the roles), and an Add Member wizard."""
    member = new_test_user(
        env,
        'rpc-member@cloudstamp.example',
        email='rpc-member@cloudstamp.example',
        groups='cloudstamp_sign.group_cloudstamp_user',
    )
    team = admin_env['cloudstamp.team'].create(
        {'name': 'RPC Team', 'member_ids': [Command.create({'user_id': member.id})]}
    )
    return {
        'cloudstamp.team': team,
        'cloudstamp.team.member': team.member_ids,
        'cloudstamp.team.member.add': admin_env['cloudstamp.team.member.add'].create(
            {'team_id': team.id, 'mode': 'new', 'name': 'RPC New', 'email': 'rpc-new@cloudstamp.example'}
        ),
    }


def _defining_module(model, name):
    for cls in type(model).__mro__:
        if name in vars(cls):
            return cls.__module__
    return ''


def public_methods(model):
    """What ``odoo.service.model.get_public_method`` lets through."""
    names = set()
    for name in dir(type(model)):
        if name.startswith('_'):
            continue
        if not callable(getattr(type(model), name, None)) or isinstance(getattr(type(model), name), type):
            continue
        if any(getattr(getattr(cls, name, None), '_api_private', False) for cls in type(model).__mro__):
            continue
        names.add(name)
    return names


def is_cloudstamp_method(model, name):
    return _defining_module(model, name).startswith('odoo.addons.cloudstamp_')


def is_harmless(model, method):
    """Odoo's own methods that cannot touch a CloudStamp record."""
    if is_cloudstamp_method(model, method):
        return False
    if model._abstract:
        return True  # no table, no records: Odoo's data API has nothing to work on
    if method in ('toggle_active', 'action_archive', 'action_unarchive') and not model._active_name:
        return True  # Odoo refuses: the model has no active field
    if method in TRANSLATION_METHODS and any(field.translate for field in model._fields.values()):
        return False  # such a model decides who translates it, in DECISIONS
    if method.startswith('search_panel_select') and group_field(model) == 'id':
        return True  # Odoo refuses before reading: nothing to group a search panel by
    if method == 'name_create' and not model._rec_name:
        return True  # Odoo creates nothing: the model has no name field
    return method in FRAMEWORK_HARMLESS


def probe_field(model):
    """A stored field that a client would read."""
    return next(
        (
            name
            for name in (
                model._rec_name,
                'subject',
                'actor',
                'ip_address',
                'pdf_filename',
                'upload_filename',
                'scope',
                'reason',
            )
            if name and name in model._fields
        ),
        'id',
    )


def group_field(model):
    """A many2one or selection field to group by."""
    return next(
        (name for name in ('state', 'event_type', 'role', 'reason', 'verdict', 'company_id') if name in model._fields),
        'id',
    )


@tagged('post_install', '-at_install', 'cloudstamp_e2e')
class TestRpcSurface(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.users = {
            'portal': new_test_user(env, 'rpc_portal', groups='base.group_portal'),
            'stranger': new_test_user(
                env,
                'stranger@cloudstamp.example',
                email='stranger@cloudstamp.example',
                groups='cloudstamp_sign.group_cloudstamp_user',
            ),
            'owner': new_test_user(
                env,
                'owner@cloudstamp.example',
                email='owner@cloudstamp.example',
                groups='cloudstamp_sign.group_cloudstamp_user',
            ),
            'admin': env.ref('base.user_admin'),
        }
        cls.passwords = {role: user.login for role, user in cls.users.items()}
        cls.passwords['admin'] = 'admin'
        # English answers: refusals are recognised by Odoo's English wording.
        cls.users['admin'].write({'email': 'admin@cloudstamp.example', 'lang': 'en_US'})
        owner_env = env(user=cls.users['owner'])
        cls.envelope = owner_env['cloudstamp.envelope'].create(
            {
                'name': '秘密保持契約書',
                'file_ids': [Command.create({'name': 'nda.pdf', 'original_file': base64.b64encode(contract_pdf())})],
                'recipient_ids': [
                    Command.create({'name': 'Sato', 'email': 'sato@partner.example', 'access_code': 'Sakura2026'})
                ],
            }
        )
        cls.envelope.action_send()
        cls.envelope.activity_schedule('mail.mail_activity_data_todo', user_id=cls.users['owner'].id)
        # A template that renders without reading the record, as an attacker
        # would choose: the refusal must come from posting, not from rendering.
        cls.template = env['mail.template'].create(
            {
                'name': 'rpc',
                'model_id': env['ir.model']._get_id('cloudstamp.envelope'),
                'subject': 'x',
                'body_html': '<p>x</p>',
            }
        )
        module, name = TEMPLATE_XMLID.split('.')
        env['ir.model.data'].create(
            {'module': module, 'name': name, 'model': 'mail.template', 'res_id': cls.template.id}
        )
        cls.wizard = owner_env['cloudstamp.verify.wizard'].create({'pdf_file': base64.b64encode(contract_pdf())})
        # The workflow files contracts; here one for the owner's document.
        cls.contract = (
            env['cloudstamp.contract']
            .sudo()
            .create(
                {'name': '秘密保持契約書', 'envelope_id': cls.envelope.id, 'company_id': cls.envelope.company_id.id}
            )
        )
        admin_env = env(user=cls.users['admin'])
        failures = env['cloudstamp.access.failure']
        failures._record('203.0.113.1', 'token')
        signed = (
            env['ir.attachment']
            .sudo()
            .search(
                [
                    ('res_model', '=', 'cloudstamp.envelope.file'),
                    ('res_id', '=', cls.envelope.file_ids.id),
                    ('res_field', '=', 'signed_file'),
                ]
            )
        )
        cls.targets = {
            'cloudstamp.envelope': cls.envelope,
            'cloudstamp.envelope.file': cls.envelope.file_ids,
            'cloudstamp.recipient': cls.envelope.recipient_ids,
            'cloudstamp.event': cls.envelope.sudo().event_ids[:1],
            'cloudstamp.verify.wizard': cls.wizard,
            'cloudstamp.access.failure': failures.sudo().search([], limit=1),
            'cloudstamp.pki.certificate': env['cloudstamp.pki.certificate']._current('signer'),
            # Abstract: no records, but RPC passes whatever ids it is given.
            'cloudstamp.signing.service': env['cloudstamp.signing.service'].browse(1),
            'cloudstamp.evidence.mixin': env['cloudstamp.evidence.mixin'].browse(1),
            'res.config.settings': env(user=cls.users['admin'])['res.config.settings'].create({}),
            'ir.attachment': signed,
            'res.company': env.company,
            'res.partner': env.ref('base.res_partner_12', raise_if_not_found=False) or env.company.partner_id,
            'cloudstamp.contract': cls.contract,
            'cloudstamp.contract.type': env.ref('cloudstamp_archive.contract_type_nda'),
            'cloudstamp.contract.tag': env['cloudstamp.contract.tag'].create({'name': 'RPC'}),
            'cloudstamp.contract.import': admin_env['cloudstamp.contract.import'].create(
                {'upload': base64.b64encode(contract_pdf()), 'upload_filename': 'rpc.pdf'}
            ),
            'cloudstamp.contract.export': admin_env['cloudstamp.contract.export'].create({'scope': 'all'}),
            'cloudstamp.certificate.revoke': admin_env['cloudstamp.certificate.revoke'].create(
                {'reason': 'superseded'}
            ),
            'cloudstamp.agreement.mixin': env['cloudstamp.agreement.mixin'].browse(1),
            **template_targets(owner_env),
            **bulk_targets(owner_env),
            **team_targets(env, admin_env),
            **bridge_targets(admin_env),
        }
        event = cls.targets['cloudstamp.event']
        # What must never appear in an answer to someone who may not see it.
        cls.secrets = (
            '秘密保持契約書',
            cls.envelope.document_ref,
            'sato@partner.example',
            'nda.pdf',
            event.event_hash,
            cls.targets['cloudstamp.pki.certificate'].sudo().private_key_ciphertext[:40],
        )

    def evidence(self):
        envelope = self.envelope.sudo()
        envelope.invalidate_recordset()
        return (
            envelope.state,
            envelope.name,
            envelope.trail_head,
            len(envelope.event_ids),
            envelope.file_ids._current_hashes(),
            envelope.file_ids._verify_stored(),
            envelope.recipient_ids.mapped('state'),
            envelope.recipient_ids.mapped('email'),
            envelope.recipient_ids.mapped('terms_accepted_at'),
            envelope.recipient_ids.sudo().mapped('token_hash'),
            envelope.recipient_ids.mapped('locked'),
            len(envelope.message_ids),
            len(envelope.message_follower_ids),
            len(envelope.activity_ids),
        )

    # -- the surface --------------------------------------------------------
    def test_every_cloudstamp_model_is_in_the_table(self):
        models = {name for name in self.env if name.startswith('cloudstamp.')}
        self.assertEqual(models, {name for name in DECISIONS if name.startswith('cloudstamp.')})
        for name in self.env:  # Odoo models CloudStamp adds public methods to
            ours = {m for m in public_methods(self.env[name]) if is_cloudstamp_method(self.env[name], m)}
            if ours:
                self.assertIn(name, DECISIONS, f'{name} has CloudStamp public methods {sorted(ours)}')

    def test_translatable_models_decide_who_translates(self):
        """Translation methods are harmless only where nothing is translatable."""
        for name, decisions in DECISIONS.items():
            if name.startswith('cloudstamp.') and any(f.translate for f in self.env[name]._fields.values()):
                self.assertLessEqual({'update_field_translations', 'web_update_field_translations'}, set(decisions))
                self.assertEqual(decisions['update_field_translations'], ADMIN, name)

    def test_recipient_actions_and_signing_are_private(self):
        for model, names in (
            (
                'cloudstamp.recipient',
                (
                    '_action_agree',
                    '_action_decline',
                    '_action_request_revision',
                    '_action_forward',
                    '_check_access_code',
                    '_accept_terms',
                ),
            ),
            ('cloudstamp.signing.service', ('_sign_pdf', '_verify_pdf', '_preflight_files', '_timestamp_digest')),
        ):
            for name in names:
                self.assertIn(name, dir(type(self.env[model])))
            self.assertFalse(
                {'action_agree', 'action_decline', 'action_forward', 'sign_pdf', 'verify_pdf', 'preflight_files'}
                & public_methods(self.env[model])
            )

    def test_every_public_method_is_refused_unless_decided(self):
        before = self.evidence()
        failures, calls = [], 0
        for role in ROLES:
            session = self.login(role)
            for model_name, decisions in DECISIONS.items():
                if model_name not in self.env:
                    continue  # an app this database does not have (the bridges' own)
                model = self.targets[model_name]
                for method in sorted(self.walked_methods(model)):
                    if role in decisions.get(method, ()):
                        continue
                    harmless = is_harmless(model, method)
                    for protocol in ('json', 'xml'):
                        calls += 1
                        outcome, answer = self.call(protocol, session, role, model, method)
                        if outcome == 'refused':
                            continue
                        leaked = [secret for secret in self.secrets if secret and secret in answer]
                        if leaked or not harmless:
                            failures.append(
                                f'{protocol} {role} {model_name}.{method}: {outcome} '
                                f'{answer[:160]!r}{" LEAKED " + str(leaked) if leaked else ""}'
                            )
        self.assertFalse(failures, '\n'.join(failures))
        self.assertEqual(self.evidence(), before)
        self.assertGreater(calls, 2000)

    def test_every_evidence_field_is_refused_over_rpc_to_owner_and_admin(self):
        """Issue 7 §1: each evidence field on its own, written through the web
        client's endpoint (/web/dataset/call_kw) and XML-RPC, with a value of
        the right type, on a draft (workflow fields) and on the sent envelope
        (every field). Refused each time, and nothing moved."""
        draft = self.env(user=self.users['owner'])['cloudstamp.envelope'].create(
            {
                'name': '下書き',
                'file_ids': [Command.create({'name': 'd.pdf', 'original_file': base64.b64encode(contract_pdf())})],
                'recipient_ids': [Command.create({'name': 'Ito', 'email': 'ito@partner.example'})],
            }
        )
        cases = []
        for envelope in (draft, self.envelope):
            for record in (envelope, envelope.file_ids, envelope.recipient_ids):
                named = tuple(name for name in EVIDENCE_FIELDS[record._name] if name in record._fields)
                protected = named + record._get_workflow_fields() + record._write_once_fields
                if envelope.state != 'draft':
                    # every stored field: `readonly` binds only the screens
                    protected += tuple(
                        name
                        for name, field in record._fields.items()
                        if field.store and name not in models.MAGIC_COLUMNS
                    )
                cases += [(record, name) for name in dict.fromkeys(protected)]

        def snapshot():
            self.env.invalidate_all()
            return [(record._name, record.id, name, repr(record.sudo()[name])) for record, name in cases] + [
                self.evidence()
            ]

        before = snapshot()
        failures, calls = [], 0
        for role in ('owner', 'admin'):
            session = self.login(role)
            for record, name in cases:
                value = self.forged_value(record, name)
                if value is None:
                    continue
                for protocol in ('json', 'xml'):
                    calls += 1
                    outcome, answer = self.call(
                        protocol, session, role, record, 'write', arguments=([record.ids, {name: value}], {})
                    )
                    if outcome != 'refused':
                        failures.append(f'{protocol} {role} {record._name}.{name} = {value!r:.40}: {outcome} {answer}')
        self.assertFalse(failures, '\n'.join(failures))
        self.assertEqual(snapshot(), before)
        self.assertGreater(calls, 4 * len({name for _record, name in cases}))

    def forged_value(self, record, name):
        """A value a forger would send: the right type, different from now."""
        field, current = record._fields[name], record.sudo()[name]
        kind = field.type
        if kind == 'selection':
            choices = [key for key, _label in field._description_selection(self.env)]
            return next((key for key in choices if key != current), None)
        if kind == 'many2one':
            other = self.env[field.comodel_name].sudo().search([('id', '!=', current.id)], limit=1)
            return other.id or None
        if kind == 'binary':
            return base64.b64encode(contract_pdf('偽物')).decode()
        if kind == 'boolean':
            return not current
        if kind in ('integer', 'float', 'monetary'):
            return (current or 0) + 7
        return {
            'char': 'forged',
            'text': 'forged',
            'html': '<p>forged</p>',
            'date': '2031-01-01',
            'datetime': '2031-01-01 00:00:00',
        }.get(kind)

    @staticmethod
    def walked_methods(model):
        """Every public method of a CloudStamp model; on Odoo's own models,
        the public methods CloudStamp defines."""
        methods = public_methods(model)
        if model._name.startswith('cloudstamp.'):
            return methods
        return {m for m in methods if is_cloudstamp_method(model, m)}

    # -- calling -----------------------------------------------------------------
    def login(self, role):
        if role == 'anonymous':
            self.authenticate(None, None)
        else:
            self.authenticate(self.users[role].login, self.passwords[role])
        return self.opener

    def arguments(self, model, method):
        """Arguments a real client would send, so that refusals come from the
        access checks and not from a malformed call."""
        field, group = probe_field(model), group_field(model)
        portal_partner = self.users['portal'].partner_id.id
        admin_partner = self.users['admin'].partner_id.id
        template = self.template
        todo = 'mail.mail_activity_data_todo'
        email = 'From: x@example.test\r\nTo: y@example.test\r\nSubject: x\r\nMessage-Id: <x@example.test>\r\n\r\nx'
        known = {
            'read': ([[field]], {}),
            'fetch': ([[field]], {}),
            'web_read': ([{field: {}}], {}),
            'export_data': ([[field]], {}),
            'copy_data': ([], {}),
            'write': ([{field: 'x'}], {}),
            'create': ([{field: 'x'}], {}),
            'name_create': (['x'], {}),
            'web_save': ([{field: 'x'}], {'specification': {field: {}}}),
            'load': ([[field], [['x']]], {}),
            'copy': ([], {}),
            'unlink': ([], {}),
            'toggle_active': ([], {}),
            'action_archive': ([], {}),
            'action_unarchive': ([], {}),
            'read_group': ([[], [group], [group]], {}),
            'web_read_group': ([[], [group], [group]], {}),
            'web_search_read': ([[], {field: {}}], {}),
            'search_panel_select_range': ([group], {}),
            'search_panel_select_multi_range': ([group], {}),
            'read_progress_bar': ([[], group, {'field': group, 'colors': {}}], {}),
            'message_post': ([], {'body': 'x'}),
            'message_notify': ([], {'body': 'x', 'partner_ids': [portal_partner]}),
            'message_subscribe': ([[admin_partner]], {}),
            'message_unsubscribe': ([[admin_partner]], {}),
            'message_post_with_source': ([TEMPLATE_XMLID], {}),
            'message_mail_with_source': ([TEMPLATE_XMLID], {}),
            'message_new': ([{'subject': 'x', 'from': 'x@example.test', 'body': 'x'}], {}),
            'message_update': ([{'subject': 'x', 'body': 'x'}, {field: 'x'}], {}),
            'message_process': ([model._name, email], {}),
            'activity_schedule': ([todo], {}),
            'activity_feedback': ([[todo]], {}),
            'activity_unlink': ([[todo]], {}),
            'activity_reschedule': ([[todo]], {}),
            'activity_search': ([[todo]], {}),
            'activity_send_mail': ([template.id], {}),
            'get_field_translations': (['name'], {}),
            'update_field_translations': (['name', {'ja_JP': 'x'}], {}),
            'web_update_field_translations': (['name', {'ja_JP': 'x'}], {}),
            'web_override_translations': ([{'name': 'x'}], {}),
        }
        if (model._name, method) == ('ir.attachment', 'create'):
            # an attachment that would pose as the signed PDF
            return [
                [
                    {
                        'name': 'x.pdf',
                        'datas': base64.b64encode(b'%PDF-1.4').decode(),
                        'res_model': 'cloudstamp.envelope.file',
                        'res_id': self.envelope.file_ids.id,
                        'res_field': 'signed_file',
                    }
                ]
            ], {}
        function = getattr(type(model), method)
        ids = [] if getattr(function, '_api', None) else [model.ids]
        if method in known:
            args, kwargs = known[method]
            return ids + args, kwargs
        try:
            parameters = list(inspect.signature(function).parameters.values())[1:]
        except (TypeError, ValueError):
            parameters = []
        args = [
            False
            for p in parameters
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.KEYWORD_ONLY)
        ]
        return ids + args, {}

    def call(self, protocol, session, role, model, method, arguments=None):
        """('refused' | 'answered' | the error, the answer's text)."""
        args, kwargs = arguments or self.arguments(model, method)
        quiet = mute_logger(
            'odoo.http',
            'odoo.sql_db',
            'odoo.models',
            'odoo.addons.base.models.ir_model',
            'odoo.addons.base.controllers.rpc',
            'odoo.addons.mail.models.mail_thread',
        )
        if protocol == 'json':
            payload = {
                'jsonrpc': '2.0',
                'method': 'call',
                'id': 1,
                'params': {'model': model._name, 'method': method, 'args': args, 'kwargs': kwargs},
            }
            with quiet:
                response = session.post(
                    f'{self.base_url()}/web/dataset/call_kw/{model._name}/{method}',
                    data=json.dumps(payload),
                    headers={'Content-Type': 'application/json'},
                )
            body = response.json()
            if 'error' not in body:
                return self.answered(method, body.get('result'))
            name, message = body['error']['data']['name'], body['error']['data']['message']
            if (
                name
                in ('odoo.exceptions.AccessError', 'odoo.exceptions.AccessDenied', 'odoo.http.SessionExpiredException')
                or EXPORT_REFUSED in message
            ):
                return 'refused', ''
            return name, message
        uid = self.users[role].id if role != 'anonymous' else 0
        proxy = xmlrpc.client.ServerProxy(f'{self.base_url()}/xmlrpc/2/object', allow_none=True)
        try:
            with quiet:
                result = proxy.execute_kw(
                    self.env.cr.dbname, uid, self.passwords.get(role, ''), model._name, method, args, kwargs
                )
        except xmlrpc.client.Fault as fault:
            if fault.faultCode in (3, 4) or EXPORT_REFUSED in str(fault.faultString):  # AccessDenied, AccessError
                return 'refused', ''
            return f'fault {fault.faultCode}', str(fault.faultString)[-300:]
        return self.answered(method, result)

    @staticmethod
    def answered(method, result):
        if method == 'load' and isinstance(result, dict) and not result.get('ids'):
            # Odoo's import reports a refusal in its answer instead of raising
            # (nothing imported, an error reported), in whatever language.
            if any(message.get('type') == 'error' for message in result.get('messages', [])):
                return 'refused', ''
        return 'answered', json.dumps(result, ensure_ascii=False, default=str)
