import base64

from odoo import Command
from odoo.tests import tagged
from odoo.tools import SQL

from odoo.addons.cloudstamp_sign.tests.common import CloudStampCase

from cloudstamp_engine_testing.pdf_samples import contract_pdf

from ..tools import fulltext
from .test_contract import complete


def completed_with_text(env, title):
    """A completed document whose PDF reads ``title`` (and the sample's articles): its contract."""
    pdf = base64.b64encode(contract_pdf(title))
    return complete(env, name=title, file_ids=[Command.create({'name': 'c.pdf', 'original_file': pdf})])


@tagged('post_install', '-at_install')
class TestFullText(CloudStampCase):
    def test_tokens_are_bigrams_and_words(self):
        self.assertEqual(fulltext.tokens('業務委託 Termination'), ['業務', '務委', '委託', 'termination'])
        self.assertEqual(fulltext.tsquery_literal('契約書 解除'), "'契約' & '約書' & '解除'")
        self.assertEqual(fulltext.tsquery_literal('!!'), '')
        # what the index cannot confirm alone: words of several tokens
        self.assertEqual(fulltext.phrase_words('「契約書」 解除 e-mail Termination'), ['契約書', 'e-mail'])

    def test_the_pdf_text_is_searchable_two_japanese_characters_included(self):
        nda = completed_with_text(self.env, '秘密保持契約書 解除 Termination')
        sales = completed_with_text(self.env, '売買基本契約書 Delivery')
        ours = [('id', 'in', (nda | sales).ids)]
        Contract = self.env['cloudstamp.contract']
        cases = {
            '解除': nda,  # two characters
            '秘密保持': nda,
            '契約書': nda | sales,
            'termination': nda,  # English, any case
            'DELIVERY': sales,
            '基本契約 delivery': sales,
            '保持売買': Contract,  # characters from two documents, never adjacent
            '持契約の': Contract,  # 持契, 契約 and 約の are all in the NDA, never in this order
            '100%': Contract,  # LIKE wildcards are searched for, not obeyed
            '削除': Contract,
        }
        for term, expected in cases.items():
            with self.subTest(term=term):
                self.assertEqual(Contract.search(ours + [('content', 'ilike', term)]), expected)

    def test_the_search_can_use_the_index(self):
        """Here the table is tiny, so the planner is told to avoid full scans;
        that it prefers the index on 100,000 contracts is for the benchmark."""
        completed_with_text(self.env, '秘密保持契約書 解除')
        self.env.cr.execute('SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off')
        self.env.cr.execute(
            SQL(
                'EXPLAIN SELECT id FROM cloudstamp_contract WHERE content_tsv @@ %s::tsquery',
                fulltext.tsquery_literal('解除'),
            )
        )
        plan = '\n'.join(row[0] for row in self.env.cr.fetchall())
        self.assertIn('Bitmap Index Scan on cloudstamp_contract_content_tsv_index', plan)
