"""final_nano with stock YOLOX convs in the PAFPN and head (mdconv_nano plus the dark2 path): the ablation row
"DWConv k7/k5 in neck and head, inside final". The dark2 path, 7x7 in final under DWConv's ``neck_down``
place, is dark2fpn_nano's 3x3 here."""
from yolox_mods.exp import LiteExp
from yolox_mods.models.variants import DARK2_DW3, MDCONV


class Exp(LiteExp):
    def __init__(self):
        super().__init__()
        self.blocks = MDCONV
        self.dark2_block = DARK2_DW3
