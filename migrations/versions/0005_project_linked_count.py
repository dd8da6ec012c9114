"""project: count of linked duplicate items, so coverage can reach 100%

Revision ID: 0005_project_linked_count
Revises: 0004_prediction_log_weight
Create Date: 2026-11-27 08:05:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_project_linked_count'
down_revision = '0004_prediction_log_weight'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.add_column(sa.Column('n_linked', sa.Integer(), server_default='0', nullable=False))
    op.execute(
        "UPDATE project SET n_linked = (SELECT count(*) FROM item "
        "WHERE item.project_id = project.id AND item.duplicate_of IS NOT NULL)"
    )


def downgrade():
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_column('n_linked')
