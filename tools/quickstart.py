"""Thin CLI over yolox_mods.cli.quickstart: train an exp briefly on generated data and print the result."""
from yolox_mods.cli.quickstart import main

if __name__ == "__main__":
    main()
