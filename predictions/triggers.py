"""The exposure queue's trigger (migration 0008), kept in place after every ``migrate``.

SQLite cannot alter most columns in place: Django rebuilds the table, and the rebuild drops the
table's triggers with it. A later migration that touches ``predictions_prediction`` would so
silently stop queueing experiment exposures on the embedded default, with a backlog gauge that
reads 0. After each ``migrate`` the trigger is re-created where it is missing; the statements
are the migration's own. (PostgreSQL keeps triggers through ALTER TABLE, and refuses a column
change the trigger depends on, loudly.)
"""

from __future__ import annotations

import importlib
import logging

from django.db import connections

logger = logging.getLogger(__name__)

QUEUE_MIGRATION = "predictions.migrations.0008_exposure_queue"


def exposure_trigger_missing(connection) -> bool:
    """True on SQLite when the queue table exists but the trigger that fills it does not."""
    if connection.vendor != "sqlite":
        return False
    migration = importlib.import_module(QUEUE_MIGRATION)
    with connection.cursor() as cursor:
        if migration.QUEUE not in connection.introspection.table_names(cursor):
            return False  # migrated back before the queue (or not yet migrated)
        cursor.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = %s",
            [migration.TRIGGER],
        )
        return cursor.fetchone() is None


def exposure_trigger_ensure(sender=None, using: str = "default", **kwargs) -> None:
    """``post_migrate``: put the SQLite trigger back if a table rebuild dropped it."""
    exposure_trigger_restore(connections[using])


def exposure_trigger_restore(connection) -> bool:
    """Re-create the trigger where it is missing; True if it was."""
    if not exposure_trigger_missing(connection):
        return False
    migration = importlib.import_module(QUEUE_MIGRATION)
    with connection.cursor() as cursor:
        for statement in migration.CREATE_TRIGGER["sqlite"]:
            cursor.execute(statement)
    logger.warning("re-created the exposure queue trigger, dropped by a table rebuild")
    return True
