"""PostgreSQL tells every web process when a token or user row changes.

Web processes keep the token rows they looked up in memory (``portal/accounts/token_cache.py``)
and drop a user's rows when this notification arrives. A trigger, not application code, sends
it, so no path can change a row without it: ``QuerySet.update`` (the admin's bulk revoke), raw
SQL, a cascade. ``pg_notify`` is delivered when the transaction commits, and not at all when it
rolls back. The payload is the user's id. SQLite has no notifications; nothing is cached there.
"""

from django.db import migrations

CHANNEL = "api_token_changed"
FUNCTION = "api_token_changed_notify"
# (table, trigger, the column holding the user's id)
TABLES = (
    ("accounts_apitoken", "api_token_changed", "user_id"),
    ("accounts_user", "api_token_user_changed", "id"),
)

CREATE_FUNCTION = f"""
CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', to_jsonb(OLD) ->> TG_ARGV[0]);
    RETURN NULL;
END
$$
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION)
    for table, trigger, column in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {trigger} AFTER UPDATE OR DELETE ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION {FUNCTION}('{column}')"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, trigger, _column in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
