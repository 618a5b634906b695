"""Thin CLI over yolox_mods.cli.export_onnx: export an exp to ONNX and check it against PyTorch."""
from yolox_mods.cli.export_onnx import main

if __name__ == "__main__":
    main()
