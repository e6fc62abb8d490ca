"""The shell: the ``shell`` command, the context builder, REPL backends, scripted sessions."""
