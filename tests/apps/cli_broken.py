"""An app module that raises while it is imported."""

raise RuntimeError("cli_broken failed on purpose")
