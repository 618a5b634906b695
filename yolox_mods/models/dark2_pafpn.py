"""YOLOX PAFPN whose stride-8 lateral input also carries the stride-4 dark2 features."""
from typing import Dict

import torch
from yolox.models import YOLOPAFPN
from yolox.models.darknet import CSPDarknet

from ..blocks import BlockSpec, create_conv


class Dark2CSPDarknet(CSPDarknet):
    """CSPDarknet whose dark3 output is dark3 + ``dark2_down(dark2)``.

    Shape: same outputs as CSPDarknet ({"dark3": (N, 4C, H/8, W/8), ...} with C = int(64 * width)).
    ``dark2_down`` maps (N, 2C, H/4, W/4) -> (N, 4C, H/8, W/8); adding rather than concatenating keeps every
    PAFPN layer at its stock width, so the extra cost is that one conv.
    """

    def __init__(self, depth: float, width: float, depthwise: bool, act: str, dark2_block: BlockSpec):
        super().__init__(depth, width, ("dark2", "dark3", "dark4", "dark5"), depthwise, act)
        base_channels = int(width * 64)
        conv, ksize = dark2_block
        self.dark2_down = create_conv(conv, 2 * base_channels, 4 * base_channels, ksize, 2, act)

    def forward(self, images: torch.Tensor) -> Dict[str, torch.Tensor]:
        features = super().forward(images)
        features["dark3"] = features["dark3"] + self.dark2_down(features.pop("dark2"))
        return features


class Dark2PAFPN(YOLOPAFPN):
    """YOLOPAFPN on a ``Dark2CSPDarknet``: (N, 3, H, W) -> the same three maps at strides 8, 16, 32."""

    def __init__(self, depth: float = 1.0, width: float = 1.0, in_channels=(256, 512, 1024),
                 depthwise: bool = False, act: str = "silu", dark2_block: BlockSpec = ("dw", 3)):
        super().__init__(depth, width, ("dark3", "dark4", "dark5"), list(in_channels), depthwise, act)
        self.backbone = Dark2CSPDarknet(depth, width, depthwise, act, dark2_block)
