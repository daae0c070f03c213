"""report files: the scheduled daily and monthly satisfaction reports, stored for download

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'report_files',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('hall_id', sa.Integer(), sa.ForeignKey('halls.id'), nullable=True),
        sa.Column('period_kind', sa.String(length=8), nullable=False),
        sa.Column('period_first', sa.Date(), nullable=False),
        sa.Column('period_last', sa.Date(), nullable=False),
        sa.Column('format', sa.String(length=8), nullable=False),
        sa.Column('file_name', sa.Unicode(length=200), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('made_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('kind', 'hall_id', 'period_first', name='uq_report_files_kind_hall_period'),
    )
    op.create_index('ix_report_files_hall_period', 'report_files', ['hall_id', 'period_first'])


def downgrade() -> None:
    op.drop_index('ix_report_files_hall_period', table_name='report_files')
    op.drop_table('report_files')
