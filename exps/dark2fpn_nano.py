"""YOLOX-nano whose PAFPN is also fed the stride-4 dark2 features (``Dark2PAFPN``).

dark2 goes through a vanilla depthwise 3x3 stride-2 conv (32 -> 64 channels) and is added to dark3 before the
PAFPN's stride-8 fusion. Measured 0.901M / 1.090 GFLOPs vs the reference 0.91 / 1.06: the GFLOPs cannot be
matched by adding a path, because stock nano itself measures 1.085 G and any dark2 path only adds (ours +0.4%);
the reference's 1.06, below its own stock 1.08, implies a cut elsewhere that its description does not state.
"""
from yolox_mods.exp import LiteExp
from yolox_mods.models.variants import DARK2_DW3


class Exp(LiteExp):
    def __init__(self):
        super().__init__()
        self.dark2_block = DARK2_DW3
