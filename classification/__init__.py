"""Compression toolkit for a small ShuffleNetV1 image classifier built on yolox_mods.blocks."""
