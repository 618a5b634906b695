"""Thin CLI over yolox_mods.cli.train (YOLOX's flags plus --device/--lenient); see --help."""
from yolox_mods.cli.train import main

if __name__ == "__main__":
    main()
