"""Block recipes of the nano variants, named so that exps can combine them instead of repeating them."""

# Vanilla depthwise 7x7 wherever a conv keeps its channel count (every CSP bottleneck of backbone and PAFPN, and
# the PAFPN's stride-2 convs); the backbone's channel-doubling stride-2 convs stay depthwise-separable; the head
# keeps depthwise-separable convs with 5x5 kernels.
DWCONV_K7_K5 = {
    "backbone_csp": ("dw", 7),
    "neck_csp": ("dw", 7),
    "neck_down": ("dw", 7),
    "head": ("dwsep", 5),
}

# DWConv without its backbone part, for the final combinations whose backbone bottlenecks are MDConv
DWCONV_NECK_HEAD = {place: spec for place, spec in DWCONV_K7_K5.items() if place != "backbone_csp"}

# MDConv (mixed-kernel depthwise, no pointwise) in every backbone CSP bottleneck: {3,5} in dark2, {3,5,7,9} in
# dark3-dark5; dark5's stride-2 conv gets the {3,5,7,9} mix in its depthwise half (cheap at stride 32).
MDCONV = {
    "dark2_csp": ("mix", (3, 5)),
    "dark3_csp": ("mix", (3, 5, 7, 9)),
    "dark4_csp": ("mix", (3, 5, 7, 9)),
    "dark5_csp": ("mix", (3, 5, 7, 9)),
    "dark5_down": ("dwsep", (3, 5, 7, 9)),
}

# Ghost bottlenecks (ratio 2, depthwise 3x3 cheap op) in place of every backbone CSP bottleneck.
GHOST_BACKBONE = {"backbone_bottleneck": ("ghost_bottleneck", 3)}

# The dark2 path of Dark2PAFPN: a vanilla depthwise 3x3 stride-2 conv.
DARK2_DW3 = ("dw", 3)

# 5x5 instead of 7x7 depthwise in the PAFPN (bottlenecks and stride-2 convs): applied over DWCONV_K7_K5.
NECK_DW5 = {"neck_csp": ("dw", 5), "neck_down": ("dw", 5)}

# final_k5_nano's blocks (its dark2 path is DARK2_DW3), shared by its activation variants
FINAL_K5 = {**DWCONV_NECK_HEAD, **NECK_DW5, **MDCONV}
