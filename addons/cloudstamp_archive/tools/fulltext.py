"""Full text of contracts, Japanese included, through PostgreSQL's own index.

Japanese has no spaces between words, and PostgreSQL's text parsers (and
pg_trgm, which needs three characters) cannot index two-character terms
such as 契約 or 解除. So a contract's text is stored as tokens: every pair of
adjacent Japanese characters (bigrams) and every Latin word or number,
lowercased, each with its position. A GIN index on that tsvector finds the contracts holding every token of a
search, exactly and without reading the rows (no phrase operator: checking
token positions would read every candidate's tsvector, several KB each).
Where a word has several tokens, the contract's extracted text then
confirms that they follow one another (``phrase_words``): 契約書 matches
only where 契約 is followed by 約書, checked on the few rows the index found.

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
    """A tsquery literal of every token of ``term`` (AND), or '' when it has none."""
    return ' & '.join(f"'{token}'" for token in dict.fromkeys(tokens(term)))


def phrase_words(term):
    """The words of ``term`` that the index alone cannot confirm: those of
    several tokens, stripped of what no token covers at either end."""
    words = []
    for word in (term or '').split():
        runs = list(_RUN.finditer(word))
        if len(tokens(word)) > 1:
            words.append(word[runs[0].start() : runs[-1].end()])
    return words
