"""Thin CLI over yolox_mods.cli.demo: draw a model's detections on images or a video."""
from yolox_mods.cli.demo import main

if __name__ == "__main__":
    main()
