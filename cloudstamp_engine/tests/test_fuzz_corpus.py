"""Malformed files end in a refusal, never in a raw exception (finding 15).

``data/fuzz`` holds mutants that made the engine raise something other than
``PreflightRefusal``/``SigningError``, or hang, before it was fixed (see its
README). Every one must now be refused by preflight, or be signed or refused
with a ``SigningError`` if preflight accepts it, within a few seconds.
"""

from pathlib import Path

import pytest

from cloudstamp_engine_testing.fuzzing import check, fuzz

CORPUS = Path(__file__).parent / 'data' / 'fuzz'
FIXTURES = sorted(CORPUS.glob('*.pdf'))
if not FIXTURES:
    # A missing corpus must fail the run, not shrink it to nothing.
    raise FileNotFoundError(f'no fuzz fixtures in {CORPUS}')


@pytest.mark.parametrize('path', FIXTURES, ids=lambda p: p.name)
def test_saved_mutant_is_refused_or_handled(path, signer):
    outcome, finding = check(path.read_bytes(), signer, path.name, timeout=5)
    assert outcome in ('refused', 'signed', 'unsignable'), finding


def test_the_corpus_covers_every_kind_of_failure_it_was_made_for():
    """Guards against a corpus trimmed down to the easy cases."""
    kinds = {p.name.split('-')[0] + '-' + p.name.split('-')[1] for p in FIXTURES}
    for kind in (
        'preflight-AssertionError',
        'preflight-OverflowError',
        'preflight-InvalidOperation',
        'preflight-Hang',
        'sign-PdfReadError',
        'sign-PdfStreamError',
        'sign-ValueError',
        'sign-KeyError',
        'sign-TypeError',
        'sign-ObjectHeaderReadError',
        'sign-InvalidOperation',
    ):
        assert kind in kinds


def test_a_short_fixed_seed_fuzz_run_finds_nothing(signer):
    """300 fresh mutants. Before the fixes, about one input in six failed
    this way, so the run could not pass by luck."""
    stats = fuzz(signer, seed=20261126, cases=300, timeout=5)
    assert stats.cases == 300
    assert stats.refused and stats.signed  # both paths were exercised
    assert not stats.findings, [
        (f.stage, f.exception, f.engine_where, f.message, f.mutation) for f in stats.findings[:5]
    ]
