"""Thin CLI over yolox_mods.cli.quantize_onnx: INT8 post-training quantization of an exported model."""
from yolox_mods.cli.quantize_onnx import main

if __name__ == "__main__":
    main()
