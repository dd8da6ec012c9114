"""project: which strategy's model order the queue follows (bounded rescoring)

Revision ID: 0012_perf
Revises: 0008_job_queue
Create Date: 2026-12-01 12:40:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0012_perf"
down_revision = "0008_job_queue"
branch_labels = None
depends_on = None


def upgrade():
    # NULL on every existing project: its next retrain ranks the whole pool once.
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queue_ranked_by", sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.drop_column("queue_ranked_by")
