"""Signed files survive Odoo's filestore garbage collection.

Odoo writes an attachment's file at once but its row only when the ORM
flushes, and the filestore GC (autovacuum) deletes the files no row refers
to. Its table lock waits only for transactions that already wrote to
ir_attachment, so a GC between the two would delete a signed PDF that the
transaction then records. Real connections, committed, as a cron worker
and a request would run them.
"""

# Real concurrent transactions on their own connections, as workers run them, must commit.
# pylint: disable=invalid-commit
import threading

from odoo.tests import tagged

from cloudstamp_engine_testing.pdf_samples import contract_pdf

from ..tools import read_field_bytes, write_field_bytes
from .common import CloudStampCase, make_envelope, worker_env


@tagged('post_install', '-at_install')
class TestFilestoreGc(CloudStampCase):
    def test_a_signed_file_written_while_the_gc_runs_is_kept(self):
        with worker_env(self.registry) as env:
            document = make_envelope(env).file_ids
            write_field_bytes(document, 'signed_file', contract_pdf('一回目 / first signature'), 'nda.pdf')
            document_id = document.id
            env.cr.commit()
        signed = contract_pdf('署名済み / signed, never seen before')

        with worker_env(self.registry) as writer, worker_env(self.registry) as gc_env:
            document = writer['cloudstamp.envelope.file'].browse(document_id)
            # the file is on disk and in the GC's checklist; the row is not written yet
            write_field_bytes(document, 'signed_file', signed, 'nda.pdf')

            gc_done = threading.Event()

            def collect():
                gc_env['ir.attachment']._gc_file_store()
                gc_done.set()

            gc = threading.Thread(target=collect)
            gc.start()
            # a GC that does not wait for the writer has finished by now
            gc_done.wait(2)
            writer.flush_all()
            writer.cr.commit()
            gc.join(30)
            self.assertTrue(gc_done.is_set())

        with worker_env(self.registry) as env:
            document = env['cloudstamp.envelope.file'].browse(document_id)
            self.assertEqual(read_field_bytes(document, 'signed_file'), signed)
            env['cloudstamp.envelope'].browse(document.envelope_id.id).sudo().unlink()
            env.cr.commit()
