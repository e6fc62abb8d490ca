"""``python -m appshell``."""

from appshell.cli import main

if __name__ == "__main__":
    main()
