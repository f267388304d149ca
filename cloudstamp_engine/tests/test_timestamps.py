"""The RFC 3161 server's limits and the anchoring API (timestamp a digest,
verify the token later)."""

import asyncio
import hashlib
import http.client
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from asn1crypto import tsp

from cloudstamp_engine import (
    DocumentSigner,
    EmbeddedTimeStamper,
    HttpTsaConfig,
    TimestampCheck,
    TimestampError,
    http_timestamper,
    read_timestamp_token,
    verify_timestamp_token,
)
from cloudstamp_engine_testing.checkers import openssl_verify_timestamp
from cloudstamp_engine_testing.tsa_server import MAX_REQUEST_BYTES, Rfc3161HttpServer

DIGEST = hashlib.sha256(b'audit chain head #42').digest()


# ------------------------------------------------------------- HTTP limits


def _post(url, headers, body=b''):
    """A POST with exactly these headers: http.client adds no length."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.putrequest('POST', parts.path, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        if body:
            conn.send(body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _timestamp_request(digest=DIGEST) -> bytes:
    return tsp.TimeStampReq(
        {
            'version': 1,
            'message_imprint': {
                'hash_algorithm': {'algorithm': 'sha256'},
                'hashed_message': digest,
            },
            'cert_req': True,
        }
    ).dump()


@pytest.fixture(scope='module')
def tsa_server(pki):
    # One server for the module: stopping one waits for its poll interval.
    with Rfc3161HttpServer(pki.tsa()) as server:
        yield server


@pytest.fixture
def issued(tsa_server):
    """Tokens the shared server issued during the test."""
    before = tsa_server.request_count
    return lambda: tsa_server.request_count - before


@pytest.mark.parametrize(
    'length',
    [
        None,  # missing
        'abc',  # not a number
        '-5',  # negative
        '+12',  # a sign is not part of the grammar
        '12, 12',  # two values
    ],
)
def test_a_bad_content_length_is_answered_400(tsa_server, issued, length):
    headers = {'Content-Type': 'application/timestamp-query'}
    if length is not None:
        headers['Content-Length'] = length
    status, _body = _post(tsa_server.url, headers)
    assert status == 400
    assert issued() == 0


@pytest.mark.parametrize('length', [MAX_REQUEST_BYTES + 1, 10**30])
def test_a_body_over_the_cap_is_answered_413_unread(tsa_server, issued, length):
    # Only the header is sent: the server must not wait for the body.
    status, _body = _post(tsa_server.url, {'Content-Length': str(length)})
    assert status == 413
    assert issued() == 0


def test_the_server_still_answers_good_requests_after_bad_ones(tsa_server, issued):
    _post(tsa_server.url, {'Content-Length': 'abc'})
    _post(tsa_server.url, {'Content-Length': str(MAX_REQUEST_BYTES * 2)})
    body = _timestamp_request()
    status, reply = _post(
        tsa_server.url,
        {
            'Content-Type': 'application/timestamp-query',
            'Content-Length': str(len(body)),
        },
        body,
    )
    assert status == 200
    assert tsp.TimeStampResp.load(reply)['status']['status'].native == 'granted'
    assert issued() == 1


def test_a_garbled_request_is_answered_400(tsa_server, issued):
    status, _body = _post(tsa_server.url, {'Content-Length': '5'}, b'hello')
    assert status == 400
    assert issued() == 0


# ------------------------------------------------------------- anchoring


def _assert_good_token(token, pki, roots) -> TimestampCheck:
    check = verify_timestamp_token(token, DIGEST, roots)
    assert check.valid and check.trusted, check.problems
    assert not check.problems
    assert 'TSA' in check.tsa
    assert abs(datetime.now(UTC) - check.gen_time) < timedelta(minutes=1)
    # an independent RFC 3161 implementation agrees
    assert openssl_verify_timestamp(token, DIGEST.hex(), pki.root_cert_pem)
    assert not openssl_verify_timestamp(token, '00' * 32, pki.root_cert_pem)
    return check


def test_timestamp_digest_with_the_embedded_tsa(signer, pki, roots):
    _assert_good_token(signer.timestamp_digest(DIGEST), pki, roots)


def test_timestamp_digest_over_http_makes_one_request(pki, roots):
    with Rfc3161HttpServer(pki.tsa(), username='u', password='秘密') as server:
        signer = DocumentSigner(
            pki.signer(), http_timestamper(HttpTsaConfig(server.url, username='u', password='秘密'))
        )
        token = signer.timestamp_digest(DIGEST)
        assert server.request_count == 1
    _assert_good_token(token, pki, roots)


def test_http_requests_share_one_tls_context(pki, roots, monkeypatch):
    """pyHanko would load certifi's bundle into a new TLS context for every
    request; ours is made once per process."""
    from cloudstamp_engine import timestamps

    made = []
    real = timestamps.ssl.create_default_context

    def counting(*args, **kwargs):
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(timestamps.ssl, 'create_default_context', counting)
    timestamps.tls_context.cache_clear()
    with Rfc3161HttpServer(pki.tsa()) as server:
        signer = DocumentSigner(pki.signer(), http_timestamper(HttpTsaConfig(server.url)))
        tokens = [signer.timestamp_digest(DIGEST) for _ in range(3)]
        assert server.request_count == 3
    assert len(made) == 1
    for token in tokens:
        _assert_good_token(token, pki, roots)


def test_a_token_can_be_read_without_checking_it(signer, roots):
    token = signer.timestamp_digest(DIGEST)
    claim = read_timestamp_token(token)
    check = verify_timestamp_token(token, DIGEST, roots)
    assert (claim.gen_time, claim.tsa) == (check.gen_time, check.tsa)
    assert 'TSA' in claim.tsa
    with pytest.raises(ValueError):
        read_timestamp_token(b'not a token')


def test_the_digest_is_stamped_as_given_not_hashed_again(signer):
    token = signer.timestamp_digest(DIGEST)
    assert token.count(DIGEST) == 1
    assert hashlib.sha256(DIGEST).digest() not in token


def test_a_different_digest_is_not_valid(signer, roots):
    token = signer.timestamp_digest(DIGEST)
    check = verify_timestamp_token(token, hashlib.sha256(b'other').digest(), roots)
    assert not check.valid and not check.trusted
    assert check.problems == ('the token stamps another digest',)


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def test_a_flipped_byte_in_the_token_is_not_valid(signer, roots):
    token = signer.timestamp_digest(DIGEST)
    stamped = verify_timestamp_token(token, DIGEST, roots).gen_time
    # GeneralizedTime appears only in the TSTInfo (certificates use UTCTime)
    gen_time = stamped.strftime('%Y%m%d%H%M%S').encode()
    in_tst_info = token.index(gen_time) + 7  # the day inside genTime
    in_signature = len(token) - 1  # the RSA signature ends the token
    for index in (in_tst_info, in_signature):
        check = verify_timestamp_token(_flip(token, index), DIGEST, roots)
        assert not check.valid and not check.trusted, index
        assert check.problems


@pytest.mark.parametrize(
    'garbage',
    [
        b'',
        b'garbage',
        b'\x30\x82\xff\xff' + b'\x00' * 40,
        bytes(range(256)),
        None,
        'a string',
    ],
)
def test_garbage_is_not_valid_and_does_not_raise(garbage, roots):
    check = verify_timestamp_token(garbage, DIGEST, roots)
    assert check == TimestampCheck(valid=False, trusted=False, problems=check.problems)
    assert check.problems


def test_valid_but_untrusted_without_the_roots(signer):
    check = verify_timestamp_token(signer.timestamp_digest(DIGEST), DIGEST)
    assert check.valid and not check.trusted
    assert 'not trusted' in check.problems[0]


def test_a_tsa_certificate_without_the_timestamping_eku_is_not_trusted(pki, roots):
    """Chains to our root, but the signing certificate is no TSA."""
    rogue = DocumentSigner(pki.signer(), EmbeddedTimeStamper(pki.signer()))
    check = verify_timestamp_token(rogue.timestamp_digest(DIGEST), DIGEST, roots)
    assert check.valid and not check.trusted


@pytest.mark.parametrize('digest', [b'', b'x' * 31, DIGEST.hex().encode(), 'text'])
def test_timestamp_digest_wants_32_bytes(signer, digest):
    with pytest.raises(TimestampError):
        signer.timestamp_digest(digest)


def test_timestamp_digest_failures_are_timestamp_errors(pki):
    with Rfc3161HttpServer(pki.tsa(), username='u', password='right') as server:
        wrong = DocumentSigner(
            pki.signer(), http_timestamper(HttpTsaConfig(server.url, username='u', password='wrong'))
        )
        with pytest.raises(TimestampError):
            wrong.timestamp_digest(DIGEST)
        assert server.request_count == 0


class _OtherDigestTsa(EmbeddedTimeStamper):
    """A TSA that stamps something other than what it was asked to."""

    def request_tsa_response(self, req):
        req['message_imprint']['hashed_message'] = b'\x00' * 32
        return super().request_tsa_response(req)


def test_a_token_for_another_digest_is_refused(pki):
    signer = DocumentSigner(pki.signer(), _OtherDigestTsa(pki.tsa()))
    with pytest.raises(TimestampError, match='another digest'):
        signer.timestamp_digest(DIGEST)


def test_the_async_variants_and_the_event_loop_guard(signer, roots):
    from cloudstamp_engine import async_verify_timestamp_token

    async def inside_a_loop():
        with pytest.raises(TimestampError, match='event loop'):
            signer.timestamp_digest(DIGEST)
        token = await signer.async_timestamp_digest(DIGEST)
        return await async_verify_timestamp_token(token, DIGEST, roots)

    assert asyncio.run(inside_a_loop()).trusted
