"""Thin CLI over yolox_mods.cli.plot_curves: plot learning curves of training runs."""
from yolox_mods.cli.plot_curves import main

if __name__ == "__main__":
    main()
