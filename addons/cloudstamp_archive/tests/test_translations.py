"""Japan first: every translatable term of every addon has a Japanese text."""

from pathlib import Path

import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import TranslationModuleReader

ADDONS_DIR = Path(__file__).resolve().parents[2]
# Every addon of this repository, whatever is added later.
ADDONS = sorted(
    p.name for p in ADDONS_DIR.iterdir() if (p / '__manifest__.py').exists() and p.name.startswith('cloudstamp')
)


@tagged('post_install', '-at_install', 'cloudstamp_e2e')
class TestJapaneseTranslations(TransactionCase):
    def test_every_term_of_every_addon_is_translated_in_ja_po(self):
        self.assertIn('cloudstamp_sign', ADDONS)
        read = 0
        for addon in ADDONS:
            with self.subTest(addon=addon):
                po = polib.pofile(str(ADDONS_DIR / addon / 'i18n' / 'ja.po'))
                translated = {e.msgid for e in po if e.msgstr.strip() and not e.obsolete}
                terms = {entry[4] for entry in TranslationModuleReader(self.env.cr, modules=[addon])}
                terms.discard('')
                read += len(terms)
                missing = sorted(terms - translated)
                self.assertFalse(missing, f'{addon}/i18n/ja.po lacks: {missing[:10]}')
        self.assertGreater(read, 200, 'the terms were not read')

    def test_japanese_screens_and_mails(self):
        env = self.env(context=dict(self.env.context, lang='ja_JP'))
        menu = env.ref('cloudstamp_sign.cloudstamp_envelope_menu')
        self.assertEqual(menu.name, '書類')
        states = dict(env['cloudstamp.envelope']._fields['state']._description_selection(env))
        self.assertEqual(states['revision'], '修正依頼')
        template = env.ref('cloudstamp_sign.mail_template_request')
        self.assertIn('ご確認', template.subject)
