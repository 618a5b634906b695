"""Thin CLI over yolox_mods.cli.publish_weights: a run's EMA weights into weights/ with a manifest entry."""
from yolox_mods.cli.publish_weights import main

if __name__ == "__main__":
    main()
