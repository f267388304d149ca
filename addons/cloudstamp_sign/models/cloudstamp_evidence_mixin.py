from odoo import api, models
from odoo.exceptions import AccessError


class CloudStampEvidenceMixin(models.AbstractModel):
    """Evidence is written by the workflow only.

    ``readonly`` on a field only shapes the screens: over RPC any field the
    access rules allow can be written. So envelopes, their files and their
    recipients refuse, for every user (administrators included):

    - the workflow's own fields (``_get_workflow_fields()``, which each
      addon extends with its own): states, times, hashes, tokens, signed files;
    - changing the fields in ``_write_once_fields`` (the envelope a file or
      recipient belongs to);
    - any change, creation or deletion once the envelope has left draft.

    The workflow writes with ``sudo()``, which passes.
    """

    _name = 'cloudstamp.evidence.mixin'
    _description = 'CloudStamp Evidence Guard'

    _write_once_fields = ()

    def _get_workflow_fields(self):
        """The fields only the workflow writes."""
        return ()

    def _evidence_envelopes(self):
        """The envelopes whose state decides whether ``self`` may change."""
        return self.env['cloudstamp.envelope']

    @api.model
    def _evidence_envelopes_of(self, vals_list):
        """The envelopes that records created from ``vals_list`` would join."""
        ids = {vals['envelope_id'] for vals in vals_list if vals.get('envelope_id')}
        return self.env['cloudstamp.envelope'].browse(ids)

    @api.model
    def _refuse_protected_fields(self, given, protected):
        refused = sorted(set(given) & set(protected))
        if refused:
            raise AccessError(
                self.env._(
                    'Only the CloudStamp workflow can set %(fields)s on %(model)s: it is evidence.',
                    fields=', '.join(refused),
                    model=self._description,
                )
            )

    @api.model
    def _refuse_unless_draft(self, envelopes):
        if any(state != 'draft' for state in envelopes.sudo().mapped('state')):
            raise AccessError(self.env._('A sent document can no longer be changed: it is evidence.'))

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            self._refuse_protected_fields({field for vals in vals_list for field in vals}, self._get_workflow_fields())
            self._refuse_unless_draft(self._evidence_envelopes_of(vals_list))
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su:
            self._refuse_protected_fields(vals, self._get_workflow_fields() + self._write_once_fields)
            self._refuse_unless_draft(self._evidence_envelopes())
        return super().write(vals)

    def unlink(self):
        if not self.env.su:
            self._refuse_unless_draft(self._evidence_envelopes())
        return super().unlink()
