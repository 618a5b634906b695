"""final_k5_nano with LeakyReLU (YOLOX's slope 0.1) instead of SiLU: the activation study's choice on the final variant.

The parameters and MACs of final_k5_nano; trained by fine-tuning its SiLU weights (docs/results.md, "the activation
study").
"""
from yolox_mods.exp import LiteExp
from yolox_mods.models.variants import DARK2_DW3, FINAL_K5


class Exp(LiteExp):
    def __init__(self):
        super().__init__()
        self.blocks = dict(FINAL_K5)
        self.dark2_block = DARK2_DW3
        self.act = "lrelu"
