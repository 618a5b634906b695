"""``python -m classification.deploy``: kept for users; the command is ``classification.cli.deploy``."""
from .cli.deploy import main

if __name__ == "__main__":
    main()
