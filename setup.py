"""yolox-lite. torch and yolox are installed by scripts/install.sh (yolox 0.3.0 must go in with --no-deps)."""
from setuptools import find_packages, setup

setup(
    name="yolox-lite",
    version="0.1.0",
    description="Cheaper YOLOX-nano variants and a compressed ShuffleNetV1 classifier on shared conv blocks",
    packages=find_packages(include=["yolox_mods", "yolox_mods.*", "classification", "classification.*"]),
    # read at run time: the classifier's packaged recipes (--recipe NAME)
    package_data={"classification": ["recipes/*.yaml"]},
    python_requires=">=3.9",
    install_requires=[
        "loguru", "tabulate", "pycocotools", "opencv-python-headless", "thop", "psutil", "tqdm", "tensorboard",
        "matplotlib", "pyyaml", "onnx", "onnxruntime", "openvino", "nncf", "pillow", "numpy", "tensorly",
    ],
    extras_require={"test": ["pytest", "hypothesis", "ruff==0.17.6"]},
    entry_points={"console_scripts": [
        *(f"yolox-lite-{name.replace('_', '-')} = yolox_mods.cli.{name}:main" for name in (
            "train", "eval", "demo", "export_onnx", "quantize_onnx", "benchmark", "check_data", "plot_curves",
            "publish_weights", "quickstart")),
        "yolox-lite-compress = classification.cli.compress:main",
        "yolox-lite-classify-eval = classification.cli.evaluate:main",
        "yolox-lite-block-study = classification.cli.block_study:main",
        "yolox-lite-compress-seeds = classification.cli.seeds:main",
        "yolox-lite-classify-deploy = classification.cli.deploy:main",
    ]},
)
