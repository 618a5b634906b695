"""Stock YOLOX-nano with HardSwish instead of SiLU: a point of the activation study.

The parameters and MACs of yolox_voc_nano; only the activation, and with it the CPU latency, differs
(docs/studies/deployment.md).
"""
from yolox_mods.exp import LiteExp


class Exp(LiteExp):
    def __init__(self):
        super().__init__()
        self.act = "hswish"
