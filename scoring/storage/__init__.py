"""Persistence: SQLAlchemy models, Alembic migrations, unit of work and bulk loading."""
