"""prediction log: per-request latency and sampling weight; audit index for the login guard

Revision ID: 0004_prediction_log_weight
Revises: 0003_quality_and_alerts
Create Date: 2026-11-27 06:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_prediction_log_weight'
down_revision = '0003_quality_and_alerts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('prediction_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('weight', sa.Double(), server_default='1.0', nullable=False))
        batch_op.alter_column('latency_ms', existing_type=sa.Double(), nullable=True)
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_action_time', ['action', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_action_time')
    op.execute("UPDATE prediction_log SET latency_ms = 0 WHERE latency_ms IS NULL")
    with op.batch_alter_table('prediction_log', schema=None) as batch_op:
        batch_op.alter_column('latency_ms', existing_type=sa.Double(), nullable=False)
        batch_op.drop_column('weight')
