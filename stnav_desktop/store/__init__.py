"""Local store: peewee models, migrations and the append-only audit log. No Qt, no HTTP."""
