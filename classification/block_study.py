"""``python -m classification.block_study``: kept for users; the command is ``classification.cli.block_study``."""
from .cli.block_study import main

if __name__ == "__main__":
    main()
