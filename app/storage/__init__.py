"""Adapters to the database: tables, engines, the unit of work."""
