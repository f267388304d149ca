"""Full text of contracts, Japanese included, through PostgreSQL's own index.

Japanese has no spaces between words, and PostgreSQL's text parsers (and
pg_trgm, which needs three characters) cannot index two-character terms
such as 契約 or 解除. So a contract's text is stored as tokens: every pair of
adjacent Japanese characters (bigrams) and every Latin word or number,
lowercased, each with its position. A GIN index on that tsvector answers a
search whose term becomes the same tokens joined by the phrase operator: 契約書
matches only where 契約 is followed by 約書.

Both the tsvector and the tsquery are written in PostgreSQL's literal
syntax, so no text search parser (nor the database's locale) is involved.
"""

import re

_RUN = re.compile(r'[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]+|[0-9A-Za-z]+')
_LATIN = re.compile(r'[0-9A-Za-z]')
# PostgreSQL keeps positions up to 16383; later tokens share the last one.
_MAX_POSITION = 16383


def _run_tokens(run):
    if _LATIN.match(run):
        return [run.lower()]
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def tokens(text):
    """The tokens of ``text``, in order."""
    return [token for run in _RUN.findall(text or '') for token in _run_tokens(run)]


def tsvector_literal(text):
    """``text`` as a tsvector literal, positions included."""
    return ' '.join(f"'{token}':{min(position, _MAX_POSITION)}" for position, token in enumerate(tokens(text), start=1))


def tsquery_literal(term):
    """A tsquery literal finding ``term``, or '' when it has no token. Words
    written together must follow one another; words apart may be anywhere."""
    phrases = [' <-> '.join(f"'{token}'" for token in tokens(word)) for word in (term or '').split()]
    return ' & '.join(f'({phrase})' for phrase in phrases if phrase)
