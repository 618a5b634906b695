"""Thin CLI over yolox_mods.cli.check_data: list every problem in a VOC folder."""
from yolox_mods.cli.check_data import main

if __name__ == "__main__":
    main()
