"""An app module that raises while it is imported."""

raise RuntimeError("the database is not configured")
