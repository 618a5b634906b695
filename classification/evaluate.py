"""``python -m classification.evaluate``: kept for users; the command is ``classification.cli.evaluate``."""
from .cli.evaluate import main

if __name__ == "__main__":
    main()
