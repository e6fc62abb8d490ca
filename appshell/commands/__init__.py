"""The built-in commands that need the app: ``run`` and ``routes``."""
