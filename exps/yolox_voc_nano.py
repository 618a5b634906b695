"""Stock YOLOX-nano on VOC: 20 classes, 416x416, depthwise-separable 3x3 convs everywhere.

Measured: 0.90M params, 1.09 GFLOPs (reference 0.91 / 1.08).
"""
from yolox_mods.exp import LiteExp


class Exp(LiteExp):
    pass
