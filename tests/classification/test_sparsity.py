"""Unstructured pruning: the right weights are zeroed, stay zero through training, and are stored compactly."""
import json
import os

import pytest
import torch

from classification.cli.compress import main
from classification.data import load_data, make_synthetic_folder
from classification.models import ShuffleNetV1, load_model, save_model
from classification.storage import pack_state_dict, unpack_state_dict
from classification.techniques.sparsity import (
    apply_masks,
    magnitude_masks,
    make_permanent,
    prunable,
    snip_masks,
    sparsity_of,
)
from classification.train import TrainConfig, fit
from tests.classification.recipes import tiny_recipe


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_synthetic_folder(str(tmp_path_factory.mktemp("sparse")), classes=3, train_per_class=8,
                                 val_per_class=2, test_per_class=2, size=40)


def test_global_magnitude_keeps_exactly_the_largest_weights():
    torch.manual_seed(0)
    model = ShuffleNetV1(3)
    for _, module in prunable(model):  # one scale for every layer, so no layer falls wholly under the threshold
        module.weight.data.normal_()
    masks = magnitude_masks(model, 0.5)
    weights = {name: module.weight.detach().abs() for name, module in prunable(model)}
    kept = torch.cat([weights[n][masks[n] == 1] for n in masks])
    dropped = torch.cat([weights[n][masks[n] == 0] for n in masks])
    total = sum(w.numel() for w in weights.values())
    assert len(dropped) == int(0.5 * total) and kept.min() >= dropped.max()
    # at initialisation (fan-in scaled) a global threshold empties the widest layers (layer collapse): each keeps
    # its best 1%, and the total is still what was asked
    collapsed = magnitude_masks(ShuffleNetV1(3), 0.99)
    for name, mask in collapsed.items():
        assert mask.sum() >= max(1, int(0.01 * mask.numel())), name
    assert sum(int((mask == 0).sum()) for mask in collapsed.values()) == int(0.99 * total)
    per_layer = magnitude_masks(model, 0.5, scope="layer")
    for name, mask in per_layer.items():
        assert int((mask == 0).sum()) == int(0.5 * mask.numel()), name
        assert weights[name][mask == 1].min() >= weights[name][mask == 0].max(), name


def test_zeros_stay_zero_through_training_and_storage_is_compact(folder, tmp_path):
    train, _, _ = load_data(folder)
    torch.manual_seed(0)
    model = ShuffleNetV1(3)
    masks = magnitude_masks(model, 0.8)
    apply_masks(model, masks)
    fit(model, train, 32, TrainConfig(epochs=2, batch_size=8, num_workers=0, lr=0.1))
    make_permanent(model)
    for name, module in prunable(model):
        assert not hasattr(module, "weight_mask")
        assert torch.all(module.weight[masks[name] == 0] == 0), name
        assert torch.any(module.weight[masks[name] == 1] != 0), name  # every layer kept weights, and trained
    assert sparsity_of(model) == pytest.approx(0.8, abs=1e-4)
    dense, sparse = str(tmp_path / "dense.pth"), str(tmp_path / "sparse.pth")
    torch.save({"model": model.state_dict()}, dense)
    save_model(sparse, model, 32, train.classes, "sparse")
    assert os.path.getsize(sparse) < 0.5 * os.path.getsize(dense)
    loaded, _, _ = load_model(sparse)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    state = {"a": torch.tensor([0.0, 1.5] * 40), "b": torch.ones(3)}
    assert all(torch.equal(unpack_state_dict(pack_state_dict(state))[k], v) for k, v in state.items())


def test_snip_scores_the_loss_gradient_not_the_magnitude(folder):
    train, _, _ = load_data(folder)
    torch.manual_seed(0)
    model = ShuffleNetV1(3)
    snip = snip_masks(model, train, 32, 0.5, batch_size=16)
    magnitude = magnitude_masks(model, 0.5)
    total = sum(mask.numel() for mask in snip.values())
    assert abs(sum(int((m == 0).sum()) for m in snip.values()) - total // 2) <= 2
    assert any(not torch.equal(snip[name], magnitude[name]) for name in snip)


def test_unstructured_stages_in_a_recipe(folder, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(tiny_recipe("""  - {name: baseline, kind: train}
  - {name: ticket, kind: unstructured, from: baseline, sparsity: 0.7, iterations: 2, rewind: init}
  - {name: snip, kind: unstructured, method: snip, sparsity: 0.5}
  - {name: teacher, kind: train, model: {width: 0.5}}
  - {name: hints, kind: distill, from: baseline, teachers: [teacher], method: fitnet}
  - {name: relations, kind: distill, from: baseline, teachers: [teacher], method: sp, beta: 100.0}
"""))
    out = tmp_path / "run"
    main(["--data", folder, "--recipe", str(recipe), "--output", str(out)])
    rows = {row["stage"]: row for row in json.loads((out / "results.json").read_text())}
    assert rows["ticket"]["nonzero_params"] < 0.45 * rows["ticket"]["params"]
    assert rows["snip"]["nonzero_params"] < 0.65 * rows["snip"]["params"]
    assert rows["ticket"]["bytes"] < 0.6 * rows["baseline"]["bytes"]
    assert sparsity_of(load_model(str(out / "ticket.pth"))[0]) == pytest.approx(0.7, abs=1e-3)
    assert (out / "baseline.init.pth").exists() and not list(out.glob("*.epoch.pth"))
    assert {"hints", "relations"} <= set(rows)  # feature and relation KD run as recipe stages
