"""Stock YOLOX-nano with LeakyReLU (YOLOX's slope 0.1) instead of SiLU: the deployment model of the activation study.

The parameters and MACs of yolox_voc_nano. Trained by fine-tuning the SiLU weights for 10 epochs, it keeps stock's
accuracy and runs about twice as fast in OpenVINO on the CPU (docs/results.md, "activation study").
"""
from yolox_mods.exp import LiteExp


class Exp(LiteExp):
    def __init__(self):
        super().__init__()
        self.act = "lrelu"
