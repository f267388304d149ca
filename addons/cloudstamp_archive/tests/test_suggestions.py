from datetime import date

from odoo.tests import BaseCase, tagged

from ..tools.suggestions import company_key, suggest


@tagged('post_install', '-at_install')
class TestSuggestions(BaseCase):
    """What is read from a contract's text, before anyone confirms it."""

    def test_a_labelled_total_wins_over_larger_and_smaller_amounts(self):
        text = '月額 150,000円\n契約金額 合計 １，８００，０００円（税込）\n違約金 5,000,000円'
        self.assertEqual(suggest(text).amount, 1_800_000)

    def test_without_a_label_the_largest_amount_is_the_total(self):
        self.assertEqual(suggest('単価 ¥1,000 × 30 = ¥30,000').amount, 30_000)
        self.assertEqual(suggest('委託料は120万円とする').amount, 1_200_000)
        self.assertEqual(suggest('no yen here: USD 500').amount, 0)

    def test_dates_western_and_japanese_eras(self):
        self.assertEqual(suggest('契約日：令和元年5月1日').transaction_date, date(2019, 5, 1))
        self.assertEqual(suggest('平成31年4月30日').transaction_date, date(2019, 4, 30))
        self.assertEqual(suggest('発行日 2026/04/07').transaction_date, date(2026, 4, 7))
        # unlabelled: the last date, where the contract states when it was made
        self.assertEqual(
            suggest('期間は2026年4月1日から2027年3月31日まで\n令和8年3月15日').transaction_date, date(2026, 3, 15)
        )
        self.assertIsNone(suggest('2026年2月30日').transaction_date)

    def test_company_names_in_every_usual_spelling(self):
        names = suggest(
            '株式会社サンプル商事（以下「甲」）と㈱ヤマダ（以下「乙」）\n立会人 東邦合同会社 御中'
        ).company_names
        self.assertEqual([company_key(name) for name in names][:1], ['サンプル商事'])
        self.assertEqual([company_key(name) for name in names], ['サンプル商事', 'ヤマダ', '東邦'])
        self.assertEqual(company_key('（株）ヤマダ'), company_key('株式会社 ヤマダ'))
