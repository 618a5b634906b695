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


class LogMessages(list):
    """The messages library code logs (loguru), one string each. ``clear()`` also attaches the sink again: a CLI's
    error exit (``exits_cleanly_on_bad_input``) removes every loguru handler."""

    def __init__(self):
        super().__init__()
        self.sink = None
        self.attach()

    def attach(self):
        from loguru import logger

        self.detach()
        self.sink = logger.add(lambda message: self.append(message.record["message"]), level="DEBUG")

    def detach(self):
        from loguru import logger

        if self.sink is not None:
            try:
                logger.remove(self.sink)
            except ValueError:  # already removed by an error exit
                pass

    def clear(self):
        super().clear()
        self.attach()


@pytest.fixture
def log_messages():
    messages = LogMessages()
    yield messages
    messages.detach()
