"""DWConv k7/k5 + MDConv + Dark2-PAFPN combined.

DWConv's neck and head part (``DWCONV_NECK_HEAD``: vanilla 7x7 depthwise in the PAFPN, 5x5 separable head),
MDConv in the backbone CSP bottlenecks (``MDCONV``), and the dark2 path. Measured 0.873M / 1.100 GFLOPs vs the
reference 0.86 / 1.08.
"""
from yolox_mods.exp import LiteExp
from yolox_mods.models.variants import DARK2_DW3, DWCONV_NECK_HEAD, MDCONV


class Exp(LiteExp):
    def __init__(self):
        super().__init__()
        self.blocks = {**DWCONV_NECK_HEAD, **MDCONV}
        self.dark2_block = DARK2_DW3
