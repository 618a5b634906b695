"""DWConv k7/k5 + MDConv + Dark2-PAFPN combined.

``DWCONV_K7_K5`` first, then ``MDCONV`` (so MDConv wins in the backbone CSP bottlenecks, vanilla 7x7 stays in
the neck), and the dark2 path. Measured 0.873M / 1.100 GFLOPs vs the reference 0.86 / 1.08.
"""
from yolox_mods.exp import LiteExp
from yolox_mods.models.variants import DARK2_DW3, DWCONV_K7_K5, MDCONV


class Exp(LiteExp):
    def __init__(self):
        super().__init__()
        self.blocks = {**DWCONV_K7_K5, **MDCONV}
        self.dark2_block = DARK2_DW3
