import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


@pytest.fixture(scope="session")
def synthetic_voc(tmp_path_factory):
    """A small generated VOC2007 folder (real JPEGs and XMLs); returns the VOCdevkit path."""
    from yolox_mods.data.synthetic import make_synthetic_voc

    return make_synthetic_voc(str(tmp_path_factory.mktemp("voc")), num_trainval=24, num_test=8, image_size=128)
