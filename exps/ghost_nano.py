"""YOLOX-nano with a Ghost-bottleneck backbone: every backbone CSP bottleneck becomes a GhostBottleneck.

Measured 0.868M / 1.037 GFLOPs (the reference gives no figure).
"""
from yolox_mods.exp import LiteExp
from yolox_mods.models.variants import GHOST_BACKBONE


class Exp(LiteExp):
    def __init__(self):
        super().__init__()
        self.blocks = dict(GHOST_BACKBONE)
