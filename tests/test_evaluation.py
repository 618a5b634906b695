"""``VOCEvaluator.score`` returns its result (no state left on the evaluator) and scores what it is given."""
import os

import pytest
import torch

from yolox_mods.evaluation import evaluate_model
from yolox_mods.evaluators import Evaluation
from yolox_mods.exp_files import load_exp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Oracle(torch.nn.Module):
    """Returns, batch after batch, YOLOX's decoded output (cx, cy, w, h, objectness, class scores) holding exactly
    the ground-truth boxes of the images the sequential eval loader yields next."""

    def __init__(self, dataset, num_classes, batch_size):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # the evaluator reads the device from the parameters
        targets = [torch.as_tensor(dataset.annotations[i][0], dtype=torch.float32) for i in range(len(dataset))]
        rows = max(len(t) for t in targets)
        outputs = torch.zeros(len(targets), rows, 5 + num_classes)
        for i, target in enumerate(targets):
            boxes, labels = target[:, :4], target[:, 4].long()
            outputs[i, :len(target), :2] = (boxes[:, :2] + boxes[:, 2:]) / 2
            outputs[i, :len(target), 2:4] = boxes[:, 2:] - boxes[:, :2]
            outputs[i, :len(target), 4] = 1.0
            outputs[i, torch.arange(len(target)), 5 + labels] = 1.0
        self.batches = list(torch.split(outputs, batch_size))

    def forward(self, images):
        return self.batches.pop(0)


def test_score_returns_the_result_of_a_perfect_detector(synthetic_voc):
    exp = load_exp(os.path.join(ROOT, "exps", "yolox_voc_nano.py"),
                   ["data_dir", synthetic_voc, "test_size", "(128,128)", "data_num_workers", "0"])
    evaluator = exp.get_evaluator(4, False, split="test")
    oracle = Oracle(evaluator.dataloader.dataset, exp.num_classes, 4)
    evaluation = evaluator.score(oracle)
    assert isinstance(evaluation, Evaluation) and not hasattr(evaluator, "result")
    assert evaluation.result.map50 == pytest.approx(1.0) and evaluation.result.map50_95 > 0.95
    assert "mAP50: 100.00" in evaluation.summary and len(evaluation.result.image_ids) == 8
    # YOLOX's own contract, for YOLOX's callers, from the same scoring
    oracle = Oracle(evaluator.dataloader.dataset, exp.num_classes, 4)
    ap50_95, ap50, summary = evaluator.evaluate(oracle)
    assert (ap50_95, ap50) == (evaluation.result.map50_95, evaluation.result.map50) and summary.startswith("| class")


def test_an_untrained_model_scores_near_zero(synthetic_voc):
    exp = load_exp(os.path.join(ROOT, "exps", "yolox_voc_nano.py"),
                   ["data_dir", synthetic_voc, "test_size", "(128,128)", "data_num_workers", "0"])
    evaluation = evaluate_model(exp, exp.get_model().eval(), batch_size=4)
    assert evaluation.result.map50 < 0.05 and evaluation.forward_ms > 0
