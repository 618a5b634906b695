"""A protocol sets the same attributes on every exp and leaves the model choices alone."""
import glob
import os

import pytest

from yolox_mods.exp_files import load_exp
from yolox_mods.protocol import PROTOCOLS, apply_protocol

EXP_DIR = os.path.join(os.path.dirname(__file__), "..", "exps")
# every exp, the grouped ones (exps/ablation, exps/activation) included
EXPS = sorted(glob.glob(os.path.join(EXP_DIR, "*.py"))) + sorted(glob.glob(os.path.join(EXP_DIR, "*", "*.py")))


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_every_protocol_is_identical_for_every_exp(protocol):
    applied = [load_exp(path, protocol=protocol) for path in EXPS]
    for key, value in PROTOCOLS[protocol].items():
        assert {repr(getattr(exp, key)) for exp in applied} == {repr(value)}, key
    # what differs between exps is the model only
    assert len({repr(exp.blocks) + repr(exp.dark2_block) + exp.act + repr(exp.width) for exp in applied}) == len(EXPS)


def test_overrides_come_after_the_protocol():
    exp = load_exp(EXPS[0], ["max_epoch", "3"], protocol="quick")
    assert exp.max_epoch == 3 and exp.input_size == (256, 256)


def test_unknown_protocol():
    with pytest.raises(ValueError, match="unknown protocol 'fast'"):
        apply_protocol(load_exp(EXPS[0]), "fast")
