"""Mutation fuzzer of the engine's preflight() and DocumentSigner.sign().

Mutates small sample PDFs (byte flips, truncations, numbers made huge,
negative or malformed, obj/endobj/xref/trailer mangled, dictionary keys
swapped, references retargeted, bogus incremental sections) and records
every input on which

* ``preflight`` raises anything but ``PreflightRefusal``, or
* ``sign``, after preflight accepted the input, raises anything but
  ``SigningError`` (``TimestampError`` is one), or
* either runs longer than ``--timeout`` seconds.

Findings are de-duplicated by (stage, exception type, innermost engine
frame, innermost frame); ``--save-dir`` keeps up to ``--per-key`` inputs of
each, plus ``findings.tsv`` describing them. Exit status 1 when anything was
found. Inputs that preflight accepted but ``sign`` refused with a
``SigningError`` are allowed, but preflight's trial run is meant to catch
them: they are counted, and saved under ``unsignable/`` in the save dir.

Security review finding 15. The mutation code lives in
``cloudstamp_engine_testing/fuzzing.py``, so that the engine's tests can run
it too.

    python3 bench/fuzz_engine.py --seconds 150 --save-dir /tmp/fuzz --seed 1
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from cloudstamp_engine_testing.fuzzing import Finding, fuzz


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=60.0, help='how long to run (default 60)')
    parser.add_argument('--save-dir', type=Path, help='where to save crashing inputs')
    parser.add_argument(
        '--seed', type=int, default=0, help='random seed; run several processes with different seeds to use more cores'
    )
    parser.add_argument('--per-key', type=int, default=3, help='inputs saved per distinct finding (default 3)')
    parser.add_argument('--timeout', type=float, default=20.0, help='seconds before one input counts as a hang')
    args = parser.parse_args()
    # pyHanko logs every oddity it recovers from; mutants are all oddities.
    logging.basicConfig(level=logging.CRITICAL)

    saved: dict[tuple[str, str, str, str], int] = {}
    if args.save_dir:
        (args.save_dir / 'unsignable').mkdir(parents=True, exist_ok=True)

    def save(finding: Finding, folder: Path) -> None:
        index = folder / 'findings.tsv'
        if not index.exists():
            index.write_text('file\tstage\texception\tengine_where\tdeepest_where\tmessage\tmutation\n')
        (folder / finding.filename).write_bytes(finding.data)
        fields = (
            finding.filename,
            finding.stage,
            finding.exception,
            finding.engine_where,
            finding.deepest_where,
            finding.message,
            finding.mutation,
        )
        with index.open('a') as out:
            out.write('\t'.join(f.replace('\t', ' ').replace('\n', ' ') for f in fields) + '\n')

    def record(finding: Finding) -> None:
        count = saved.get(finding.key, 0)
        if count == 0:
            print(
                f'NEW {finding.stage}: {finding.exception} at '
                f'{finding.engine_where or "-"} / {finding.deepest_where}: '
                f'{finding.message[:100]}',
                flush=True,
            )
        saved[finding.key] = count + 1
        if args.save_dir and count < args.per_key:
            save(finding, args.save_dir)

    def unsignable(finding: Finding) -> None:
        print(f'unsignable: {finding.exception} at {finding.deepest_where}: {finding.message[:100]}', flush=True)
        if args.save_dir:
            save(finding, args.save_dir / 'unsignable')

    stats = fuzz(
        seed=args.seed, seconds=args.seconds, timeout=args.timeout, on_finding=record, on_unsignable=unsignable
    )
    print(
        f'\n{stats.cases} inputs in {stats.seconds:.0f} s: '
        f'{stats.refused} refused, {stats.signed} signed, '
        f'{stats.unsignable} accepted but refused by sign (SigningError), '
        f'{len(stats.findings)} findings'
    )
    for (stage, exception, engine, deepest), count in sorted(stats.distinct().items(), key=lambda item: -item[1]):
        print(f'{count:6d}  {stage:9s} {exception}  {engine or "-"}  {deepest}')
    return 1 if stats.findings else 0


if __name__ == '__main__':
    sys.exit(main())
