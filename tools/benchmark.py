"""Thin CLI over yolox_mods.cli.benchmark: measure every exp side by side."""
from yolox_mods.cli.benchmark import main

if __name__ == "__main__":
    main()
