"""Suggest a contract's 取引年月日, 金額 and 取引先 from the text of its PDFs.

Only suggestions: the user confirms them on the contract, and a value that
someone entered is never replaced (see ``cloudstamp.contract``).

- Amounts: yen amounts (``1,200,000円``, ``金1,200,000円``, ``¥1,200,000``,
  ``120万円``). One labelled 合計/総額/契約金額/請求金額/金額 wins; otherwise
  the largest, since line items are smaller than the total.
- Dates: 西暦 (``2026年4月1日``, ``2026/4/1``, ``2026-04-01``) and 和暦
  (``令和8年4月1日``, ``令和元年…``, ``平成…``). One labelled
  契約日/締結日/発行日/取引日/作成日 wins; otherwise the last one, where a
  Japanese contract puts the date it was made, above the seals.
- Companies: names with 株式会社, 有限会社, 合同会社 (or their abbreviations
  ``(株)`` ``㈱``) before or after the name, normalised for matching.

Text is NFKC-normalised first, so full-width digits and ``㈱`` read as usual.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

_ERAS = {'令和': 2018, '平成': 1988}
_AMOUNT_LABELS = ('合計', '総額', '契約金額', '請求金額', '金額', '代金')
_DATE_LABELS = ('契約日', '締結日', '発行日', '取引日', '作成日', '契約締結日')
_LABEL_REACH = 15  # characters between a label and its value

_NUMBER = r'(\d{1,3}(?:,\d{3})+|\d+)'
_YEN_AMOUNT = re.compile(rf'(?:¥|\\|金)\s*{_NUMBER}(?:\s*円)?|{_NUMBER}\s*(億|万)?\s*円')
_WESTERN_DATE = re.compile(r'(\d{4})\s*(?:年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日|[/.-](\d{1,2})[/.-](\d{1,2}))')
_ERA_DATE = re.compile(r'(令和|平成)\s*(元|\d{1,2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日')
_COMPANY_KINDS = ('株式会社', '有限会社', '合同会社')
_KIND = re.compile('|'.join(_COMPANY_KINDS))
# Where a name ends: spaces, punctuation, brackets, and the words that
# follow a name in a contract (御中, 殿, 様).
_SEGMENT_BREAK = re.compile(r'[\s、。,，:：()「」『』【】\[\]]+|御中|殿|様')
_MIN_KEY = 2
_MULTIPLIERS = {'万': 10_000, '億': 100_000_000, None: 1}


@dataclass(frozen=True)
class Suggestions:
    """What the text suggests; empty values when it suggests nothing."""

    amount: int = 0
    transaction_date: date | None = None
    company_names: tuple[str, ...] = field(default=())


def normalize(text: str) -> str:
    """NFKC, with the company abbreviations written out: for reading and matching."""
    text = unicodedata.normalize('NFKC', text or '')
    return text.replace('(株)', '株式会社').replace('(有)', '有限会社').replace('(同)', '合同会社')


def company_key(name: str) -> str:
    """``name`` as it is compared with partners: no company kind, no spaces."""
    key = normalize(name)
    for kind in _COMPANY_KINDS:
        key = key.replace(kind, '')
    return re.sub(r'\s+', '', key).lower()


def suggest(text: str) -> Suggestions:
    text = normalize(text)
    return Suggestions(
        amount=_suggest_amount(text),
        transaction_date=_suggest_date(text),
        company_names=tuple(dict.fromkeys(_companies(text))),
    )


def _labelled(matches, text, labels):
    """The first match with one of ``labels`` shortly before it, or None."""
    for match in matches:
        before = text[max(0, match.start() - _LABEL_REACH) : match.start()]
        if any(label in before for label in labels):
            return match
    return None


def _amount_of(match) -> int:
    digits = (match.group(1) or match.group(2)).replace(',', '')
    return int(digits) * _MULTIPLIERS[match.group(3)]


def _suggest_amount(text: str) -> int:
    matches = list(_YEN_AMOUNT.finditer(text))
    if not matches:
        return 0
    labelled = _labelled(matches, text, _AMOUNT_LABELS)
    if labelled:
        return _amount_of(labelled)
    return max(_amount_of(match) for match in matches)


def _dates(text: str):
    """(position, date) of every valid date in ``text``, in order."""
    found = []
    for match in _WESTERN_DATE.finditer(text):
        year, month, day = match.group(1), match.group(2) or match.group(4), match.group(3) or match.group(5)
        found.append((match, _date(int(year), int(month), int(day))))
    for match in _ERA_DATE.finditer(text):
        era, year, month, day = match.groups()
        found.append((match, _date(_ERAS[era] + (1 if year == '元' else int(year)), int(month), int(day))))
    return sorted(((m, d) for m, d in found if d), key=lambda item: item[0].start())


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _suggest_date(text: str) -> date | None:
    found = _dates(text)
    if not found:
        return None
    by_match = dict(found)
    labelled = _labelled([match for match, _date in found], text, _DATE_LABELS)
    return by_match[labelled] if labelled else found[-1][1]


def _companies(text: str):
    """Candidate company names, in order: each company kind with the words
    written against it, before (山田工業株式会社) or after (株式会社ヤマダ)."""
    for segment in _SEGMENT_BREAK.split(text):
        pieces = _KIND.split(segment)
        kinds = _KIND.findall(segment)
        for index, kind in enumerate(kinds):
            before, after = pieces[index], pieces[index + 1]
            for name in (f'{kind}{after}', f'{before}{kind}'):
                if len(company_key(name)) >= _MIN_KEY:
                    yield name
