"""final_nano without the dark2 path (plain PAFPN): the ablation row "Dark2 path, inside final"."""
from yolox_mods.exp import LiteExp
from yolox_mods.models.variants import DWCONV_NECK_HEAD, MDCONV


class Exp(LiteExp):
    def __init__(self):
        super().__init__()
        self.blocks = {**DWCONV_NECK_HEAD, **MDCONV}
