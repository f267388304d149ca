"""Helpers for the signing engine's tests and benchmarks, and the addons' tests.

Not needed in production (the Docker image leaves this package out):

- ``pdf_samples``  sample PDFs built on the fly;
- ``checkers``     poppler's pdfsig and OpenSSL's RFC 3161 verifier;
- ``fuzzing``      mutation fuzzing of preflight and signing;
- ``tsa_server``   an RFC 3161 HTTP server backed by the embedded TSA;
- ``smtp``         an SMTP server on loopback that keeps what it receives.
"""
