"""the transactional outbox (issue 19): ``event_outbox`` holds each committed domain event that has
durable handlers (``app.event_handlers.EVENT_HANDLERS``), written in the transaction that recorded
it and delivered after it by the scheduler (``deliver_events``), with retries and a backoff; a
partial index finds the rows still due, another the delivered ones to prune.

A finished ticket's survey is now made by ``ServiceFinished``'s handler instead of a job polling
the finished tickets: the finished tickets with a mobile number and no survey yet, which that job
would still have found, get their ``ServiceFinished`` row here (due at once; the handler applies
``surveys.CREATE_WITHIN`` when it runs), so an upgrade loses none. There are few: a ticket's number
is cleared once its survey holds it, or two days after it closed.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

PENDING = "done_at IS NULL AND failed_at IS NULL"
DONE = "done_at IS NOT NULL"
FAILED = "failed_at IS NOT NULL"


def upgrade() -> None:
    outbox = op.create_table(
        'event_outbox',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('event', sa.String(40), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('next_at', sa.DateTime(), nullable=False),
        sa.Column('done_at', sa.DateTime(), nullable=True),
        sa.Column('failed_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.String(200), nullable=True),
    )
    op.create_index('ix_event_outbox_due', 'event_outbox', ['next_at'],
                    sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING))
    op.create_index('ix_event_outbox_done', 'event_outbox', ['done_at'],
                    sqlite_where=sa.text(DONE), postgresql_where=sa.text(DONE))
    op.create_index('ix_event_outbox_failed', 'event_outbox', ['failed_at'],
                    sqlite_where=sa.text(FAILED), postgresql_where=sa.text(FAILED))
    _catch_up(outbox)


def _catch_up(outbox) -> None:
    """ServiceFinished rows for the finished tickets the survey job had yet to reach."""
    found = op.get_bind().execute(sa.text(
        "SELECT t.id, t.hall_id, t.label, t.service_id, t.staff_id, t.closed_at,"
        " (SELECT e.counter_id FROM ticket_events e WHERE e.ticket_id = t.id AND e.kind = 'finished'"
        "  ORDER BY e.id DESC LIMIT 1) AS counter_id,"
        " (SELECT e.staff_id FROM ticket_events e WHERE e.ticket_id = t.id AND e.kind = 'finished'"
        "  ORDER BY e.id DESC LIMIT 1) AS finished_by,"
        " (SELECT e.duration_s FROM ticket_events e WHERE e.ticket_id = t.id AND e.kind = 'finished'"
        "  ORDER BY e.id DESC LIMIT 1) AS handle_s"
        " FROM tickets t WHERE t.state = 'finished' AND t.mobile IS NOT NULL AND t.closed_at IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM surveys s WHERE s.ticket_id = t.id)"
        " ORDER BY t.closed_at, t.id"
    ).columns(closed_at=sa.DateTime())).all()
    rows = [
        {
            "event": "ServiceFinished",
            "payload": {
                "hall_id": r.hall_id, "ticket_id": r.id, "label": r.label, "service_id": r.service_id,
                "counter_id": r.counter_id, "staff_id": r.finished_by or r.staff_id,
                "handle_s": float(r.handle_s or 0), "has_mobile": True,
            },
            "created_at": r.closed_at,  # when the ticket finished: as the finish would have written it
            "attempts": 0,
            "next_at": r.closed_at,
        }
        for r in found
    ]
    if rows:
        op.bulk_insert(outbox, rows)


def downgrade() -> None:
    op.drop_index('ix_event_outbox_failed', table_name='event_outbox')
    op.drop_index('ix_event_outbox_done', table_name='event_outbox')
    op.drop_index('ix_event_outbox_due', table_name='event_outbox')
    op.drop_table('event_outbox')
