from odoo import _lt, api, fields, models

# The source text is English; its Japanese version is in i18n/ja.po. One
# paragraph per term: Odoo translates HTML fields paragraph by paragraph.
DEFAULT_TERMS = (
    _lt('This service records your agreement to documents whose content the parties have already negotiated.'),
    _lt(
        'When you press "Agree", an electronic signature recording your email address and the time, '
        'with a timestamp, is added to the documents.'
    ),
    _lt('This link is personal. Do not share it.'),
)


def _default_terms_html():
    return ''.join(f'<p>{paragraph._translate("en_US")}</p>' for paragraph in DEFAULT_TERMS)


class ResCompany(models.Model):
    _inherit = 'res.company'

    cloudstamp_link_days = fields.Integer(
        'CloudStamp Link Validity (days)',
        default=10,
        help="A recipient's link works this long (never longer than its document); reminders mail a new one.",
    )
    cloudstamp_terms = fields.Html(
        'CloudStamp Terms of Use',
        translate=True,
        sanitize_overridable=True,
        default=lambda self: _default_terms_html(),
        help='Recipients accept these, in their language, before they see the documents.',
    )

    _sql_constraints = [
        (
            'cloudstamp_link_days_positive',
            'CHECK(cloudstamp_link_days > 0)',
            'A link must be valid for at least one day.',
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        companies = super().create(vals_list)
        companies._cloudstamp_translate_default_terms()
        return companies

    def _cloudstamp_translate_default_terms(self):
        """The default terms in every installed language that translates them."""
        translations = {
            lang: {paragraph._translate('en_US'): paragraph._translate(lang) for paragraph in DEFAULT_TERMS}
            for lang, _name in self.env['res.lang'].get_installed()
            if lang != 'en_US'
        }
        for company in self:
            company.update_field_translations('cloudstamp_terms', translations)
