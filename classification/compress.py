"""``python -m classification.compress``: kept for users; the command is ``classification.cli.compress``."""
from .cli.compress import main

if __name__ == "__main__":
    main()
