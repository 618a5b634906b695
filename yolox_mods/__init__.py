"""yolox-lite: cheaper YOLOX-nano variants and a compressed ShuffleNet classifier on shared blocks."""
__version__ = "0.1.0"
