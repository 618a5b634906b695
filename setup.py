"""yolox-lite. torch and yolox are installed by scripts/install.sh (yolox 0.3.0 must go in with --no-deps).

No console scripts: the detector's tools are ``python tools/<name>.py`` (YOLOX's convention) and the classifier's
``python -m classification.<name>``; the ``yolox-lite-*`` scripts of 0.1.0 were removed for them."""
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
        "torch-pruning==1.6.1",
    ],
    extras_require={"test": ["pytest", "hypothesis", "ruff==0.17.6"]},
)
