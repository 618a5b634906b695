"""YOLOX-nano with vanilla depthwise 7x7 convs in backbone and neck and 5x5 kernels in the head.

Placement (``DWCONV_K7_K5``): vanilla depthwise (no pointwise) wherever a conv keeps its channel count (CSP
bottlenecks of backbone and PAFPN, PAFPN stride-2 convs); the backbone's channel-doubling stride-2 convs and the
head keep depthwise-separable convs, the head's at 5x5. Measured 0.869M / 1.098 GFLOPs vs the reference 0.88 /
1.08. The reference's other description, vanilla depthwise *everywhere* with k7/k5, measures 0.796M / 0.985 G
here (k3 everywhere: 0.728M / 0.837 G vs its 0.68 / 0.83), so it cannot be the design behind 0.88 / 1.08.
"""
from yolox_mods.exp import LiteExp
from yolox_mods.models.variants import DWCONV_K7_K5


class Exp(LiteExp):
    def __init__(self):
        super().__init__()
        self.blocks = dict(DWCONV_K7_K5)
