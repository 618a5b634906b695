"""YOLOX-nano with MDConv (mixed-kernel depthwise) in the backbone: dark2 {3,5}, dark3-dark5 {3,5,7,9}.

MDConv replaces the depthwise-separable 3x3 of every backbone CSP bottleneck, and mixes the depthwise half of
dark5's stride-2 conv (``MDCONV``). Measured 0.885M / 1.067 GFLOPs vs the reference 0.90 / 1.05.
"""
from yolox_mods.exp import LiteExp
from yolox_mods.models.variants import MDCONV


class Exp(LiteExp):
    def __init__(self):
        super().__init__()
        self.blocks = dict(MDCONV)
