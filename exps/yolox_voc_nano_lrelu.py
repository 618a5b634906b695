"""Stock YOLOX-nano with LeakyReLU (YOLOX's slope 0.1) instead of SiLU: the deployment model of the activation study.

The parameters and MACs of yolox_voc_nano; trained by fine-tuning its SiLU weights for 10 epochs (weights/manifest.json
records which). Accuracy and CPU latency against stock: docs/results.md, "the activation study".
"""
from yolox_mods.exp import LiteExp


class Exp(LiteExp):
    def __init__(self):
        super().__init__()
        self.act = "lrelu"
