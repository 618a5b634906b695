"""final_nano with DWConv's vanilla 7x7 depthwise instead of MDConv in the backbone bottlenecks (dwconv_nano plus
the dark2 path): the ablation row "MDConv, inside final"."""
from yolox_mods.exp import LiteExp
from yolox_mods.models.variants import DARK2_DW3, DWCONV_K7_K5


class Exp(LiteExp):
    def __init__(self):
        super().__init__()
        self.blocks = DWCONV_K7_K5
        self.dark2_block = DARK2_DW3
