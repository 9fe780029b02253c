"""The database: schema, engines for SQLite and PostgreSQL, and migrations."""
