"""surveys: the hall's survey settings, surveys, replies, opt-outs, follow-up cases, the SMS outbox

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _number_columns() -> list[sa.Column]:
    """A protected mobile number: cipher text, lookup key (HMAC), masked form. Never the number."""
    return [
        sa.Column('number_cipher', sa.String(length=255), nullable=True),
        sa.Column('number_key', sa.String(length=64), nullable=True),
        sa.Column('number_masked', sa.String(length=20), nullable=False),
    ]


def upgrade() -> None:
    with op.batch_alter_table('halls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('survey', sa.JSON(), nullable=False, server_default='{}'))
    op.create_index('ix_tickets_with_mobile', 'tickets', ['closed_at'],
                    sqlite_where=sa.text('mobile IS NOT NULL'), postgresql_where=sa.text('mobile IS NOT NULL'))

    op.create_table(
        'surveys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), sa.ForeignKey('tickets.id'), nullable=False),
        sa.Column('hall_id', sa.Integer(), sa.ForeignKey('halls.id'), nullable=False),
        sa.Column('service_id', sa.Integer(), sa.ForeignKey('service_types.id'), nullable=False),
        sa.Column('counter_id', sa.Integer(), sa.ForeignKey('counters.id'), nullable=True),
        sa.Column('staff_id', sa.Integer(), sa.ForeignKey('staff.id'), nullable=True),
        sa.Column('business_day', sa.Date(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=False),
        sa.Column('wait_s', sa.Integer(), nullable=True),
        *_number_columns(),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('send_at', sa.DateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.String(length=400), nullable=True),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('gateway', sa.String(length=16), nullable=True),
        sa.Column('gateway_id', sa.String(length=80), nullable=True),
        sa.Column('reference', sa.String(length=40), nullable=False),
        sa.Column('delivery_status', sa.String(length=16), nullable=True),
        sa.Column('delivery_at', sa.DateTime(), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('scale_name', sa.String(length=16), nullable=False),
        sa.Column('scale', sa.JSON(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.Column('score', sa.Integer(), nullable=True),
        sa.Column('satisfied', sa.Boolean(), nullable=True),
        sa.Column('comment', sa.String(length=500), nullable=True),
        sa.Column('rated_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('ticket_id'),
        sa.UniqueConstraint('reference'),
    )
    op.create_index('ix_surveys_due', 'surveys', ['state', 'send_at'])
    op.create_index('ix_surveys_number', 'surveys', ['number_key', 'sent_at'])
    op.create_index('ix_surveys_hall_finished', 'surveys', ['hall_id', 'finished_at'])
    op.create_index('ix_surveys_hall_rated', 'surveys', ['hall_id', 'rated_at'])
    op.create_index('ix_surveys_hall_staff_rated', 'surveys', ['hall_id', 'staff_id', 'rated_at'])

    op.create_table(
        'survey_replies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('survey_id', sa.Integer(), sa.ForeignKey('surveys.id'), nullable=True),
        sa.Column('hall_id', sa.Integer(), sa.ForeignKey('halls.id'), nullable=True),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        *_number_columns(),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('score', sa.Integer(), nullable=True),
        sa.Column('comment', sa.String(length=500), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('gateway', sa.String(length=16), nullable=False),
        sa.Column('gateway_message_id', sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('gateway', 'gateway_message_id', name='uq_survey_reply_gateway_message'),
    )
    op.create_index('ix_survey_replies_survey_id', 'survey_replies', ['survey_id'])
    op.create_index('ix_survey_replies_hall_outcome', 'survey_replies', ['hall_id', 'outcome', 'received_at'])
    op.create_index('ix_survey_replies_received', 'survey_replies', ['received_at'])

    op.create_table(
        'sms_opt_outs',
        sa.Column('number_key', sa.String(length=64), nullable=False),
        sa.Column('number_cipher', sa.String(length=255), nullable=True),
        sa.Column('number_masked', sa.String(length=20), nullable=False),
        sa.Column('opted_out_at', sa.DateTime(), nullable=False),
        sa.Column('reply_id', sa.Integer(), sa.ForeignKey('survey_replies.id'), nullable=True),
        sa.PrimaryKeyConstraint('number_key'),
    )

    op.create_table(
        'follow_up_cases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('survey_id', sa.Integer(), sa.ForeignKey('surveys.id'), nullable=False),
        sa.Column('hall_id', sa.Integer(), sa.ForeignKey('halls.id'), nullable=False),
        sa.Column('reply_id', sa.Integer(), sa.ForeignKey('survey_replies.id'), nullable=True),
        sa.Column('reason', sa.String(length=16), nullable=False),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('assigned_to', sa.Integer(), sa.ForeignKey('staff.id'), nullable=True),
        sa.Column('first_response_at', sa.DateTime(), nullable=True),
        sa.Column('first_response_by', sa.Integer(), sa.ForeignKey('staff.id'), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.Column('closed_by', sa.Integer(), sa.ForeignKey('staff.id'), nullable=True),
        sa.Column('resolution', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('survey_id'),
    )
    op.create_index('ix_follow_up_cases_hall_state', 'follow_up_cases', ['hall_id', 'state', 'due_at'])
    op.create_index('ix_follow_up_cases_state_due', 'follow_up_cases', ['state', 'due_at'])

    op.create_table(
        'sms_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        *_number_columns(),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('reference', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_sms_outbox_created_at', 'sms_outbox', ['created_at'])
    op.create_index('ix_sms_outbox_reference', 'sms_outbox', ['reference'])


def downgrade() -> None:
    op.drop_index('ix_sms_outbox_reference', table_name='sms_outbox')
    op.drop_index('ix_sms_outbox_created_at', table_name='sms_outbox')
    op.drop_table('sms_outbox')
    op.drop_index('ix_follow_up_cases_state_due', table_name='follow_up_cases')
    op.drop_index('ix_follow_up_cases_hall_state', table_name='follow_up_cases')
    op.drop_table('follow_up_cases')
    op.drop_table('sms_opt_outs')
    op.drop_index('ix_survey_replies_received', table_name='survey_replies')
    op.drop_index('ix_survey_replies_hall_outcome', table_name='survey_replies')
    op.drop_index('ix_survey_replies_survey_id', table_name='survey_replies')
    op.drop_table('survey_replies')
    op.drop_index('ix_surveys_hall_staff_rated', table_name='surveys')
    op.drop_index('ix_surveys_hall_rated', table_name='surveys')
    op.drop_index('ix_surveys_hall_finished', table_name='surveys')
    op.drop_index('ix_surveys_number', table_name='surveys')
    op.drop_index('ix_surveys_due', table_name='surveys')
    op.drop_table('surveys')
    op.drop_index('ix_tickets_with_mobile', table_name='tickets')
    with op.batch_alter_table('halls', schema=None) as batch_op:
        batch_op.drop_column('survey')
