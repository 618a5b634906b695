"""Thin CLI over yolox_mods.cli.eval (YOLOX's flags plus --device/--lenient); see --help."""
from yolox_mods.cli.eval import main

if __name__ == "__main__":
    main()
