"""Padding for odd kernels: the one place padding is computed."""


def get_padding(ksize: int, dilation: int = 1) -> int:
    """'Same' padding: a conv with this padding maps H to ceil(H / stride).

    Even kernels are rejected because they cannot be centred, so feature maps would shift by half a pixel.
    """
    if ksize < 1 or ksize % 2 == 0:
        raise ValueError(f"kernel size must be a positive odd number, got {ksize}")
    return dilation * (ksize - 1) // 2
