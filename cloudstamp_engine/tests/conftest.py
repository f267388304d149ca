"""Fixtures of the engine's own tests (plain pytest, no Odoo)."""

from __future__ import annotations

import pytest

from cloudstamp_engine import (
    DocumentSigner,
    EmbeddedTimeStamper,
    generate_service_pki,
    load_pem_certificates,
)


@pytest.fixture(scope='session')
def pki():
    return generate_service_pki('テスト商事株式会社')


@pytest.fixture(scope='session')
def roots(pki):
    return load_pem_certificates(pki.root_cert_pem)


@pytest.fixture(scope='session')
def signer(pki):
    return DocumentSigner(pki.signer(), EmbeddedTimeStamper(pki.tsa()))
