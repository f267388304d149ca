"""Archive benchmark: full-text search over 100,000 contracts, and the ZIP
export of 10,000, against a real Odoo server over HTTP.

The data: 100,000 contracts with Japanese bodies of about 2 KB, written from
clause templates, counterparties and a business vocabulary, so that each
query word is in a realistic share of them. They are generated once into the
database ``cloudstamp_bench_archive`` and kept (``--rebuild`` starts over).
Bodies go in through the archive's own tokenizer (tools/fulltext.py).

Search: the list view's ``search_read`` (its fields, 80 rows, its order)
over JSON-RPC, for a mix of queries: a 3+ character Japanese term, a
2-character one, an English word, a counterparty, and an amount range AND a
transaction date range. The same text queries run as ``ilike`` on the
extracted text (no index can serve it): the ratio compares the two.

Export: the RSS of the Odoo server process while it streams the ZIP of the
first 10,000 contracts (each with its uploaded PDF and timestamped copy).

Last lines:
    archive_search_100k_p95_ms=<n> ratio_vs_ilike=<r>
    archive_export_10k_rss_growth_mb=<n> zip_mb=<n> ratio_rss_vs_zip=<r>
Targets (issue #9): p95 <= 100 ms, r <= 0.05; RSS growth <= 100 MB.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import random
import statistics
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg2
from common import REPO, JsonRpcClient, drop_database, free_port, odoo, odoo_options, odoo_server, wait_for_http

from cloudstamp_engine.config import MB
from cloudstamp_engine_testing.pdf_samples import contract_pdf


def _addon_tokenizer():
    """The archive's own full-text tokenizer (it imports nothing from Odoo),
    loaded from its file: the bench must index exactly as the addon does,
    without importing the addon, or Odoo, or changing sys.path."""
    path = REPO / 'addons' / 'cloudstamp_archive' / 'tools' / 'fulltext.py'
    spec = importlib.util.spec_from_file_location('cloudstamp_archive_fulltext', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fulltext = _addon_tokenizer()

DB = 'cloudstamp_bench_archive'
DATA_VERSION = '3'
CONTRACTS = 100_000
EXPORTED = 10_000
PARTNERS = 600
ROUNDS = 15
LIST_FIELDS = [
    'name',
    'document_ref',
    'partner_id',
    'contract_type_id',
    'transaction_date',
    'amount',
    'currency_id',
    'date_end',
    'user_id',
    'renewal_state',
]

TYPES = ['売買基本契約書', '業務委託契約書', '秘密保持契約書', '発注書', '請求書', '賃貸借契約書', 'ライセンス契約書']
CLAUSES = [
    '甲及び乙は、本契約の履行にあたり、信義に従い誠実に行動するものとする。',
    '乙は、甲の事前の書面による承諾なく、本契約上の地位を第三者に譲渡してはならない。',
    '本契約の有効期間は、締結日から1年間とし、期間満了の1か月前までにいずれからも申出がない場合は同一条件で更新する。',
    '甲又は乙は、相手方が本契約に違反し、相当の期間を定めて催告しても是正されないときは、本契約を解除することができる。',
    '本契約に定めのない事項については、甲乙協議のうえ誠実に解決するものとする。',
    '本契約に関する紛争については、東京地方裁判所を第一審の専属的合意管轄裁判所とする。',
    '乙は、業務の遂行にあたり知り得た甲の秘密情報を、第三者に開示又は漏えいしてはならない。',
    '代金の支払は、毎月末日締め翌月末日払いとし、乙の指定する銀行口座に振り込む方法による。',
    '甲は、納入された物品について、受領後10営業日以内に検査を行い、その結果を乙に通知する。',
    '乙は、反社会的勢力に該当しないことを表明し、将来にわたっても該当しないことを確約する。',
    '不可抗力により本契約の全部又は一部の履行が遅延した場合、当事者はその責任を負わない。',
    '本契約の成立を証するため、本書を電磁的に作成し、甲乙合意の後各自その電磁的記録を保管する。',
]
# Words that appear in some contracts only, as goods and services do.
VOCABULARY = [
    '鋼材',
    '樹脂',
    '半導体',
    '物流',
    '倉庫',
    '清掃',
    '警備',
    '保守',
    '広告',
    '翻訳',
    '印刷',
    '塗装',
    '設計',
    '測量',
    '派遣',
    '研修',
    '監査',
    '顧問',
    '飲料',
    '食品',
    '医薬品',
    '化粧品',
    '家具',
    '照明',
    '空調',
    '給湯',
    '通信',
    '回線',
    '電力',
    'ガス',
    '競業避止',
    '再委託',
    '瑕疵担保',
    '知的財産権',
    '個人情報',
    'ソフトウェア開発',
    'クラウドサービス',
    'データセンター',
    '業務改善',
    '品質保証',
]
ENGLISH = ['warranty', 'indemnification', 'escrow', 'subcontractor', 'governing', 'arbitration', 'royalty']
PARTNER_STEMS = [
    '東邦',
    '北辰',
    '大和',
    '三協',
    '中央',
    '日進',
    '富士',
    '明和',
    '昭栄',
    '太陽',
    '光洋',
    '旭',
    '丸菱',
    '新光',
]
PARTNER_TAILS = ['商事', '工業', '物産', '製作所', '電機', '化学', 'システム', '運輸', '建設', '食品']


def partner_names() -> list[str]:
    names = [f'{stem}{tail}株式会社' for stem in PARTNER_STEMS for tail in PARTNER_TAILS]
    names += [f'株式会社{stem}{tail}' for stem in PARTNER_STEMS for tail in PARTNER_TAILS]
    names += [f'{stem}{tail}{n}株式会社' for n in range(2, 3) for stem in PARTNER_STEMS for tail in PARTNER_TAILS]
    return names[:PARTNERS]


def body(rng: random.Random, title: str, partner: str, amount: int, day: date) -> str:
    """About 2 KB of a Japanese contract."""
    words = rng.sample(VOCABULARY, 2)
    lines = [
        title,
        f'株式会社クラウドスタンプ（以下「甲」という）と{partner}（以下「乙」という）は、{words[0]}及び{words[1]}に関し、次のとおり契約を締結する。',
        f'第1条 乙は甲に対し、{words[0]}に係る業務を提供し、甲はその対価として金{amount:,}円（税込）を支払う。',
    ]
    clauses = rng.sample(CLAUSES, 8)
    lines += [f'第{n}条 {text}' for n, text in enumerate(clauses, start=2)]
    if rng.random() < 0.05:
        lines.append(f'Appendix: the {rng.choice(ENGLISH)} terms of the English version prevail.')
    lines.append(f'{day.year}年{day.month}月{day.day}日')
    text = '\n'.join(lines)
    while len(text.encode()) < 2000:
        text += '\n' + rng.choice(CLAUSES)
    return text


# ----------------------------------------------------------------------------
# Data, generated once
# ----------------------------------------------------------------------------
def connect():
    options = odoo_options()
    params = {key: options.get(f'db_{key}') for key in ('host', 'port', 'user', 'password') if options.get(f'db_{key}')}
    return psycopg2.connect(dbname=DB, **params)


def data_ready() -> bool:
    try:
        with connect() as connection, connection.cursor() as cr:
            cr.execute("SELECT value FROM ir_config_parameter WHERE key = 'cloudstamp.bench_archive_version'")
            row = cr.fetchone()
            return bool(row) and row[0] == DATA_VERSION
    except psycopg2.OperationalError:
        return False


ADDONS = 'cloudstamp_sign,cloudstamp_archive,cloudstamp_portal'


def build_data() -> None:
    print(f'Building {CONTRACTS:,} contracts in {DB} (once; kept for later runs)...', flush=True)
    drop_database(DB)
    odoo('-d', DB, '-i', ADDONS, '--without-demo=all', '--stop-after-init', '--log-level=warn')
    rng = random.Random(2026)
    started = time.perf_counter()
    with connect() as connection, connection.cursor() as cr:
        cr.execute("SET maintenance_work_mem = '512MB'")
        cr.execute('SELECT id, currency_id, partner_id FROM res_company ORDER BY id LIMIT 1')
        company_id, currency_id, _company_partner = cr.fetchone()
        cr.execute("SELECT id FROM res_users WHERE login = 'admin'")
        (admin_id,) = cr.fetchone()
        cr.execute(
            "SELECT res_id FROM ir_model_data WHERE module = 'cloudstamp_archive'"
            " AND model = 'cloudstamp.contract.type'"
        )
        type_ids = [row[0] for row in cr.fetchall()]
        names = partner_names()
        partner_ids = []
        for name in names:
            cr.execute(
                'INSERT INTO res_partner (name, complete_name, is_company, active, type, create_date, write_date)'
                " VALUES (%s, %s, true, true, 'contact', now(), now()) RETURNING id",
                [name, name],
            )
            partner_ids.append(cr.fetchone()[0])
        cr.execute('DROP INDEX IF EXISTS cloudstamp_contract_content_tsv_index')
        columns = (
            'name, document_ref, source, company_id, currency_id, partner_id, contract_type_id, transaction_date,'
            ' amount, date_signed, user_id, active, renewal_state, renewal_months, auto_renew, retention_end,'
            ' content_text, content_tsv, create_uid, write_uid, create_date, write_date'
        )
        batch = io.StringIO()
        for n in range(1, CONTRACTS + 1):
            index = rng.randrange(len(names))
            day = date(2019, 1, 1) + timedelta(days=rng.randrange(8 * 365))
            amount = rng.choice([rng.randrange(10, 1000) * 1000, rng.randrange(1, 300) * 100_000])
            title = rng.choice(TYPES)
            text = body(rng, title, names[index], amount, day)
            values = [
                f'{title}（{names[index]}）',
                f'CS-BENCH-{n:06d}',
                'imported',
                company_id,
                currency_id,
                partner_ids[index],
                rng.choice(type_ids),
                day.isoformat(),
                amount,
                f'{day.isoformat()} 10:00:00',
                admin_id,
                't',
                'running',
                12,
                'f',
                date(day.year + 7, day.month, min(day.day, 28)).isoformat(),
                text,
                fulltext.tsvector_literal(text),
                admin_id,
                admin_id,
                'now',
                'now',
            ]
            batch.write('\t'.join(_copy_escape(value) for value in values) + '\n')
            if n % 5000 == 0:
                batch.seek(0)
                cr.copy_expert(f'COPY cloudstamp_contract ({columns}) FROM STDIN', batch)
                batch = io.StringIO()
                print(f'  {n:,} contracts ({time.perf_counter() - started:.0f} s)', flush=True)
        print('  indexing...', flush=True)
        cr.execute('CREATE INDEX cloudstamp_contract_content_tsv_index ON cloudstamp_contract USING gin (content_tsv)')
        attach_export_files(cr)
        cr.execute('ANALYZE')
        cr.execute(
            'INSERT INTO ir_config_parameter (key, value, create_date, write_date)'
            " VALUES ('cloudstamp.bench_archive_version', %s, now(), now())",
            [DATA_VERSION],
        )
    print(f'  built in {time.perf_counter() - started:.0f} s', flush=True)


def update_addons() -> None:
    """The kept data, with the schema of the code being measured."""
    odoo('-d', DB, '-u', ADDONS, '--stop-after-init', '--log-level=warn')


def attach_export_files(cr) -> None:
    """The first EXPORTED contracts get an uploaded PDF and its timestamped
    copy. Odoo's filestore stores equal contents once, so rows share files."""
    options = odoo_options()
    data = {'imported_file': contract_pdf('秘密保持契約書'), 'timestamped_file': contract_pdf('秘密保持契約書 (TS)')}
    stored = {}
    for field, content in data.items():
        checksum = hashlib.sha1(content).hexdigest()
        fname = f'{checksum[:2]}/{checksum}'
        path = Path(options['data_dir']) / 'filestore' / DB / fname
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        stored[field] = (fname, checksum, len(content))
    cr.execute('SELECT id FROM cloudstamp_contract ORDER BY id LIMIT %s', [EXPORTED])
    ids = [row[0] for row in cr.fetchall()]
    cr.execute(
        "UPDATE cloudstamp_contract SET imported_filename = 'contract.pdf', imported_sha256 = 'bench'"
        ' WHERE id = ANY(%s)',
        [ids],
    )
    for field, (fname, checksum, size) in stored.items():
        cr.execute(
            'INSERT INTO ir_attachment (name, res_model, res_field, res_id, type, store_fname, checksum,'
            ' file_size, mimetype, public, create_date, write_date)'
            " SELECT %s, 'cloudstamp.contract', %s, id, 'binary', %s, %s, %s, 'application/pdf', false, now(), now()"
            ' FROM cloudstamp_contract WHERE id = ANY(%s)',
            [f'{field}.pdf', field, fname, checksum, size, ids],
        )


def _copy_escape(value) -> str:
    return str(value).replace('\\', '\\\\').replace('\t', '\\t').replace('\n', '\\n').replace('\r', '\\r')


# ----------------------------------------------------------------------------
# Measurements
# ----------------------------------------------------------------------------
class Client(JsonRpcClient):
    """The administrator's web client, reading the contract list as the list view does."""

    def list_view(self, domain) -> tuple[float, int]:
        start = time.perf_counter()
        rows = self.call('cloudstamp.contract', 'search_read', domain, LIST_FIELDS, limit=80, context={'lang': 'ja_JP'})
        return (time.perf_counter() - start) * 1000, len(rows)


def queries() -> list[tuple[str, list, list | None]]:
    """(label, indexed domain, the same question as ilike on the text or None)."""
    partner = partner_names()[17]
    return [
        ('ja_4', [('content', 'ilike', '競業避止')], [('content_text', 'ilike', '競業避止')]),
        ('ja_2', [('content', 'ilike', '鋼材')], [('content_text', 'ilike', '鋼材')]),
        ('ja_phrase', [('content', 'ilike', '知的財産権')], [('content_text', 'ilike', '知的財産権')]),
        ('en', [('content', 'ilike', 'escrow')], [('content_text', 'ilike', 'escrow')]),
        ('partner', [('partner_id', 'ilike', partner)], [('content_text', 'ilike', partner)]),
        (
            'amount_and_date',
            [
                ('amount', '>=', 1_000_000),
                ('amount', '<=', 5_000_000),
                ('transaction_date', '>=', '2024-04-01'),
                ('transaction_date', '<=', '2024-06-30'),
            ],
            None,
        ),
    ]


def measure_search(client: Client, rounds: int) -> tuple[float, float]:
    indexed, plain = [], []
    for label, domain, ilike in queries():
        client.list_view(domain)  # warm up
        timings = [client.list_view(domain) for _ in range(rounds)]
        indexed += [ms for ms, _rows in timings]
        line = f'  {label:16} indexed p50={statistics.median(ms for ms, _ in timings):7.1f} ms rows={timings[0][1]}'
        if ilike:
            client.list_view(ilike)
            plain_timings = [client.list_view(ilike) for _ in range(max(3, rounds // 5))]
            assert plain_timings[0][1] >= timings[0][1] or label == 'partner', (label, plain_timings[0][1])
            plain.append((statistics.median(ms for ms, _ in timings), statistics.median(ms for ms, _ in plain_timings)))
            line += f'   ilike p50={plain[-1][1]:8.1f} ms rows={plain_timings[0][1]}'
        print(line, flush=True)
    p95 = statistics.quantiles(indexed, n=20)[-1]
    ratio = sum(i for i, _ in plain) / sum(p for _, p in plain)
    return p95, ratio


def rss_kb(pid: int, key: str = 'VmRSS') -> int:
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith(key + ':'):
            return int(line.split()[1])
    raise KeyError(key)


def measure_export(client: Client, server_pid: int) -> tuple[float, float]:
    ids = client.call('cloudstamp.contract', 'search', [('imported_filename', '!=', False)], order='id')
    assert len(ids) == EXPORTED, len(ids)
    export_id = client.call(
        'cloudstamp.contract.export', 'create', {'scope': 'selected', 'contract_ids': [(6, 0, ids)]}
    )
    url = client.call('cloudstamp.contract.export', 'action_download', [export_id])['url']
    peak = [0]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kb(server_pid))
            time.sleep(0.02)

    before = rss_kb(server_pid)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    size = 0
    with client.session.get(f'{client.base}{url}', stream=True, timeout=1800) as response:
        response.raise_for_status()
        for chunk in response.iter_content(1 << 20):
            size += len(chunk)
    done.set()
    watcher.join()
    growth_mb = max(0, peak[0] - before) / 1024
    return growth_mb, size / MB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--rebuild', action='store_true', help='generate the data again')
    parser.add_argument('--rounds', type=int, default=ROUNDS)
    args = parser.parse_args()
    if args.rebuild or not data_ready():
        build_data()
    else:
        update_addons()
    port = free_port()
    server = odoo_server(DB, port, '--workers=0')
    try:
        base = f'http://127.0.0.1:{port}'
        wait_for_http(f'{base}/web/login', alive=lambda: server.poll() is None)
        client = Client(base, DB)
        print(f'Search: list view over JSON-RPC, {CONTRACTS:,} contracts, {args.rounds} rounds per query', flush=True)
        p95, ratio = measure_search(client, args.rounds)
        print(f'Export: ZIP of {EXPORTED:,} contracts, streamed', flush=True)
        growth, zip_mb = measure_export(client, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
    print(f'archive_search_100k_p95_ms={p95:.1f} ratio_vs_ilike={ratio:.4f}')
    print(f'archive_export_10k_rss_growth_mb={growth:.1f} zip_mb={zip_mb:.0f} ratio_rss_vs_zip={growth / zip_mb:.3f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
