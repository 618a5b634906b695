"""Convolution blocks shared by the YOLOX-nano variants and the ShuffleNetV1 classifier."""
from .conv import ACTIVATIONS, ConvBnAct, create_act
from .depthwise import DepthwiseConv, DepthwiseSeparableConv
from .factory import CONV_BLOCKS, BlockSpec, check_conv_spec, create_conv
from .ghost import GhostBottleneck, GhostModule
from .mixconv import MixConv, merge_mixconvs, merged_depthwise, split_channels
from .padding import get_padding
from .shuffle import ChannelShuffle, GroupPointwiseConv, LowRankPointwise, ShuffleUnit, channel_shuffle, equal_splits

__all__ = [
    "ACTIVATIONS", "BlockSpec", "CONV_BLOCKS", "ChannelShuffle", "ConvBnAct", "DepthwiseConv",
    "DepthwiseSeparableConv", "GhostBottleneck", "GhostModule", "GroupPointwiseConv", "LowRankPointwise", "MixConv",
    "ShuffleUnit",
    "channel_shuffle", "check_conv_spec", "create_act", "create_conv", "equal_splits", "get_padding",
    "merge_mixconvs", "merged_depthwise", "split_channels",
]
