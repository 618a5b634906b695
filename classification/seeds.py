"""``python -m classification.seeds``: kept for users; the command is ``classification.cli.seeds``."""
from .cli.seeds import main

if __name__ == "__main__":
    main()
