"""YOLOX-nano variants built from YOLOX's modules and the shared blocks."""
from .build import build_yolox, reinitialize
from .dark2_pafpn import Dark2CSPDarknet, Dark2PAFPN
from .places import PLACES, find_place, swap_blocks

__all__ = ["Dark2CSPDarknet", "Dark2PAFPN", "PLACES", "build_yolox", "find_place", "reinitialize", "swap_blocks"]
