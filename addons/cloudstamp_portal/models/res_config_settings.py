from odoo import fields, models

DEFAULT_TERMS = {
    'ja_JP': (
        '本サービスは、事前に内容について当事者間で合意が済んでいる契約書・発注書などの書類について、'
        '受信者が同意することにより、相互同意がなされたことを示す電子署名を施すサービスです。\n'
        '「同意する」を押すと、あなたのメールアドレスと日時を記録した電子署名とタイムスタンプが書類に付与されます。\n'
        'このリンクはあなた専用です。第三者に共有しないでください。'
    ),
    'en_US': (
        'This service records your agreement to documents whose content the parties '
        'have already negotiated.\n'
        'When you press "Agree", an electronic signature recording your email address '
        'and the time, with a timestamp, is added to the documents.\n'
        'This link is personal. Do not share it.'
    ),
}


class ResConfigSettings(models.TransientModel):
    _inherit = 'res.config.settings'

    # Char, not Text: settings stored as config parameters must be scalar.

    cloudstamp_terms_ja = fields.Char(
        'Terms of Use (Japanese)', config_parameter='cloudstamp.terms_ja_JP',
        default=DEFAULT_TERMS['ja_JP'])
    cloudstamp_terms_en = fields.Char(
        'Terms of Use (English)', config_parameter='cloudstamp.terms_en_US',
        default=DEFAULT_TERMS['en_US'])


def terms_for(env, lang):
    key = 'ja_JP' if (lang or '').startswith('ja') else 'en_US'
    return env['ir.config_parameter'].sudo().get_param(
        f'cloudstamp.terms_{key}') or DEFAULT_TERMS[key]
