"""Thin CLI over yolox_mods.cli.prune: prune a trained detector's channels to a GFLOPs budget."""
from yolox_mods.cli.prune import main

if __name__ == "__main__":
    main()
