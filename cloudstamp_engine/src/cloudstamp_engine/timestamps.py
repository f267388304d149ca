"""RFC 3161 time stamping: the embedded TSA and the HTTP client.

The embedded TSA lets a fresh installation produce B-T signatures offline,
with the database's own TSA certificate. An external TSA is reached over
HTTP with pyHanko's client. The HTTP server the tests and benchmarks use is
``cloudstamp_engine_testing.tsa_server.Rfc3161HttpServer``.
"""

from __future__ import annotations

import base64
import functools
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import aiohttp
import certifi
from asn1crypto import cms, core, tsp
from cryptography.hazmat.primitives import hashes
from pyhanko.sign import general
from pyhanko.sign.general import get_pyca_cryptography_hash, simple_cms_attribute
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

from .config import HttpTsaConfig
from .pki import SigningIdentity

# Our TSA policy, under the UUID arc (2.25), which needs no registration.
CLOUDSTAMP_TSA_POLICY = '2.25.292610497046427405839155470716470398657'


class EmbeddedTimeStamper(DummyTimeStamper):
    """A TSA inside the process, signing with an already parsed key.

    pyHanko's ``DummyTimeStamper`` re-parses and checks its RSA key on every
    token; this one reuses the key held by its :class:`SigningIdentity`.
    """

    def __init__(self, identity: SigningIdentity):
        self.identity = identity
        super().__init__(
            tsa_cert=identity.certificate,
            tsa_key=None,
            certs_to_embed=identity.chain,
        )

    def _build_tst_info(
        self,
        message_imprint: tsp.MessageImprint,
        dt: datetime,
        req: tsp.TimeStampReq,
    ) -> tsp.TSTInfo:
        tst_info = super()._build_tst_info(message_imprint, dt, req)
        tst_info['policy'] = tsp.ObjectIdentifier(CLOUDSTAMP_TSA_POLICY)
        return tst_info

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt: datetime) -> tuple[bytes, cms.CMSAttributes]:
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes(
            [
                simple_cms_attribute('content_type', 'tst_info'),
                simple_cms_attribute('signing_time', cms.Time({'utc_time': core.UTCTime(dt)})),
                simple_cms_attribute(
                    'signing_certificate',
                    general.as_signing_certificate(self.tsa_cert),
                ),
                simple_cms_attribute('message_digest', digest.finalize()),
            ]
        )
        signature = self.identity.sign(signed_attrs.dump(), md_algorithm)
        return signature, signed_attrs

    def _build_signed_data(
        self,
        tst_info_data: bytes,
        md_algorithm: str,
        signature: bytes,
        signed_attrs: cms.CMSAttributes,
    ) -> dict:
        signed_data = super()._build_signed_data(tst_info_data, md_algorithm, signature, signed_attrs)
        # pyHanko names RSA whatever the key; ours may be ECDSA.
        signed_data['signer_infos'][0]['signature_algorithm'] = self.identity.signature_algorithm(md_algorithm)
        return signed_data

    def request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        # RFC 3161 genTime is UTC; pyHanko's default uses the local zone.
        self.fixed_dt = datetime.now(UTC).replace(microsecond=0)
        try:
            return super().request_tsa_response(req)
        finally:
            self.fixed_dt = None


def basic_auth_header(username: str, password: str) -> str:
    """RFC 7617 basic credentials, UTF-8 encoded (passwords may be Japanese)."""
    token = base64.b64encode(f'{username}:{password}'.encode()).decode()
    return f'Basic {token}'


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context per process, verifying against certifi's bundle."""
    return ssl.create_default_context(cafile=certifi.where())


class ReusedTlsTimeStamper(HTTPTimeStamper):
    """pyHanko's HTTP client, sharing one TLS context across requests.

    Without a session of its own, pyHanko opens one per request, and each
    loads certifi's CA bundle into a new TLS context: about a third of an
    agreement's time, even for a plain http TSA. The session cannot be kept
    (each signature runs its own event loop); the context can.
    """

    @asynccontextmanager
    async def _acquire_session(self) -> AsyncIterator[aiohttp.ClientSession]:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls_context()))
        try:
            yield session
        finally:
            await session.close()


def http_timestamper(config: HttpTsaConfig) -> TimeStamper:
    """pyHanko's HTTP client for an external TSA, with optional basic auth."""
    headers = {'Authorization': basic_auth_header(config.username, config.password)} if config.username else None
    return ReusedTlsTimeStamper(config.url, timeout=config.timeout_seconds, headers=headers)
