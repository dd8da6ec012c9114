"""job: the embedded queue's index, and at most one active training job per project

Revision ID: 0008_job_queue
Revises: 0011_item_comments
Create Date: 2026-12-01 10:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_job_queue'
down_revision = '0011_item_comments'
branch_labels = None
depends_on = None

ACTIVE_TRAIN = "kind = 'train' AND status IN ('queued', 'running')"


def upgrade():
    # A database from before may hold two active training jobs of a project (a race the
    # index below now rules out): keep the newest, fail the others.
    op.execute(
        "UPDATE job SET status = 'failed', error = 'superseded by a newer training job' "
        f"WHERE {ACTIVE_TRAIN} AND id NOT IN "
        f"(SELECT max(id) FROM job WHERE {ACTIVE_TRAIN} GROUP BY project_id)"
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index('ix_job_queue', ['status', 'id'], unique=False)
        batch_op.create_index(
            'uq_job_active_train',
            ['project_id'],
            unique=True,
            sqlite_where=sa.text(ACTIVE_TRAIN),
            postgresql_where=sa.text(ACTIVE_TRAIN),
        )


def downgrade():
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index('uq_job_active_train')
        batch_op.drop_index('ix_job_queue')
