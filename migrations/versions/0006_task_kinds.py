"""task kinds: a project's kind and settings; a typed JSON value beside every label key

Existing projects become single_label; their rows keep their label strings, and a
null value means "the key is the value", so no data is rewritten.

Revision ID: 0006_task_kinds
Revises: 0005_project_linked_count
Create Date: 2026-12-01 09:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_task_kinds'
down_revision = '0005_project_linked_count'
branch_labels = None
depends_on = None

VALUE_COLUMNS = {
    'item': ('consensus_value', 'final_value', 'gold_value'),
    'annotation': ('value',),
    'annotation_revision': ('value',),
    'adjudication': ('value',),
}


def upgrade():
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'task_kind', sa.String(length=24), server_default='single_label', nullable=False
        ))
        batch_op.add_column(sa.Column(
            'task_settings', sa.JSON(), server_default=sa.text("'{}'"), nullable=False
        ))
    for table, columns in VALUE_COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.add_column(sa.Column(column, sa.JSON(), nullable=True))


def downgrade():
    for table, columns in VALUE_COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_column(column)
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_column('task_settings')
        batch_op.drop_column('task_kind')
