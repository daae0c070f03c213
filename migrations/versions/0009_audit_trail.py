"""audit trail: every configuration change, who, when, before and after; append-only (the database
refuses UPDATE and DELETE on it); pairing codes of new devices

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

REFUSE = 'audit entries cannot be changed or deleted'


def upgrade() -> None:
    op.create_table(
        'pairing_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=8), nullable=False),
        sa.Column('claim_hash', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('device_id', sa.Integer(), sa.ForeignKey('devices.id'), nullable=True),
        sa.Column('token', sa.String(length=100), nullable=True),
        sa.Column('collected_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_pairing_codes_code', 'pairing_codes', ['code', 'expires_at'])
    op.create_table(
        'audit_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('actor_kind', sa.String(length=16), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor_name', sa.Unicode(length=100), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('entity', sa.String(length=16), nullable=False),
        sa.Column('entity_id', sa.Integer(), nullable=False),
        sa.Column('hall_id', sa.Integer(), nullable=True),
        sa.Column('changed', sa.JSON(), nullable=False),
        sa.Column('before', sa.JSON(), nullable=True),
        sa.Column('after', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_entries_hall', 'audit_entries', ['hall_id', 'id'])
    op.create_index('ix_audit_entries_entity', 'audit_entries', ['entity', 'entity_id', 'id'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"""
            CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{REFUSE}'; END $$""")
        op.execute("CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
                   "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()")
    else:
        for event in ('UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER audit_entries_no_{event.lower()} BEFORE {event} ON audit_entries "
                       f"BEGIN SELECT RAISE(ABORT, '{REFUSE}'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION audit_entries_append_only()")
    op.drop_index('ix_audit_entries_entity', table_name='audit_entries')
    op.drop_index('ix_audit_entries_hall', table_name='audit_entries')
    op.drop_table('audit_entries')
    op.drop_index('ix_pairing_codes_code', table_name='pairing_codes')
    op.drop_table('pairing_codes')
