"""Bytes in, bytes out for attachment-backed Binary fields.

The ORM speaks base64 for Binary fields: reading a 1 MB PDF and storing its
signed successor costs four base64 passes and a content sniff, on every
signature. These helpers go through the field's own ``ir.attachment`` and its
``raw`` column instead, so the ORM (``record.field``) still sees the same file.
"""


def field_attachments(records, field_name):
    """The attachments holding ``field_name`` of ``records``, any order."""
    return (
        records.env['ir.attachment']
        .sudo()
        .search(
            [
                ('res_model', '=', records._name),
                ('res_id', 'in', records.ids),
                ('res_field', '=', field_name),
            ]
        )
    )


def read_field_bytes(record, field_name):
    """The stored file of ``record.<field_name>``, or ``b''`` when empty."""
    record.ensure_one()
    return field_attachments(record, field_name)[:1].raw or b''


def write_field_bytes(record, field_name, data, filename, mimetype='application/pdf'):
    """Store ``data`` as ``record.<field_name>``; the attachment is named
    ``filename`` so that mails attaching it carry a meaningful name."""
    record.ensure_one()
    # Odoo writes the file at once and the row when the ORM flushes, and its
    # filestore GC deletes the files no row refers to. The GC's table lock
    # (SHARE) waits only for transactions that already hold ROW EXCLUSIVE:
    # take it before the file exists, or a signed PDF can be deleted under
    # the row that records it.
    record.env.cr.execute('LOCK TABLE ir_attachment IN ROW EXCLUSIVE MODE')
    values = {'raw': data, 'name': filename, 'mimetype': mimetype}
    attachment = field_attachments(record, field_name)[:1]
    if attachment:
        attachment.write(values)
    else:
        record.env['ir.attachment'].sudo().create(
            dict(values, res_model=record._name, res_id=record.id, res_field=field_name, type='binary')
        )
    record.invalidate_recordset([field_name])
