"""Stock YOLOX-nano thinned by width alone: the pruning study's control for "fewer channels everywhere".

Width 11/64 (stock's 16/64) is the nearest to half of stock's GFLOPs that YOLOX's integer widths can build
(0.570 against 1.085 at 416). Results: docs/studies/pruning.md.
"""
from yolox_mods.exp import LiteExp


class Exp(LiteExp):
    def __init__(self):
        super().__init__()
        self.width = 11 / 64
