"""The in-memory VOC AP against YOLOX's own file-based ``voc_eval``, and the paired bootstrap against re-scoring
an explicitly resampled image list."""
import os

import numpy as np
import pytest

from yolox_mods.common import DataError
from yolox_mods.data.voc import VOCRecord
from yolox_mods.evaluators import (
    MatchedEvaluation,
    class_ap,
    evaluate_voc,
    load_matches,
    match_class,
    paired_bootstrap,
    save_matches,
)
from yolox_mods.evaluators.bootstrap import resampled_ap, resampled_map50

CLASSES = ("cat", "dog", "bus")


def random_case(seed, images=12, difficult_rate=0.2, miss_class=None):
    """Records and detections with duplicates, near misses, difficult objects and distinct scores (YOLOX's
    unstable argsort would order ties differently)."""
    rng = np.random.default_rng(seed)
    records, detections = [], {}
    scores = iter(rng.permutation(10_000) / 10_000 + 1e-4)
    for index in range(images):
        count = int(rng.integers(0, 4))
        xy = rng.integers(0, 200, (count, 2))
        boxes = np.concatenate([xy, xy + rng.integers(10, 80, (count, 2))], axis=1).astype(np.float64)
        labels = rng.integers(0, len(CLASSES), count)
        difficult = rng.random(count) < difficult_rate
        records.append(VOCRecord(f"{index:06d}", "", "", boxes, labels, difficult, 300, 300))
        det_boxes, det_labels = [], []
        for box, label in zip(boxes, labels):
            for _ in range(int(rng.integers(0, 3))):  # duplicates of one object
                det_boxes.append(box + rng.normal(0, 8, 4))
                det_labels.append(label)
        for _ in range(int(rng.integers(0, 3))):  # false alarms
            x, y = rng.integers(0, 200, 2)
            det_boxes.append(np.array([x, y, x + 30, y + 30], np.float64))
            det_labels.append(int(rng.integers(0, len(CLASSES))))
        keep = [i for i, label in enumerate(det_labels) if label != miss_class]
        detections[index] = (np.array(det_boxes).reshape(-1, 4)[keep], np.array([next(scores) for _ in keep]),
                             np.array(det_labels, np.int64)[keep])
    return records, detections


def yolox_voc_ap(tmp_path, records, detections, label, threshold):
    """YOLOX 0.3.0's ``voc_eval`` (11-point) on the same boxes, through the files it reads."""
    from yolox.evaluators.voc_eval import voc_eval

    annotations = tmp_path / "ann"
    annotations.mkdir(exist_ok=True)
    for record in records:
        objects = "".join(
            f"<object><name>{CLASSES[int(label)]}</name><pose>x</pose><truncated>0</truncated>"
            f"<difficult>{int(d)}</difficult><bndbox><xmin>{int(b[0])}</xmin><ymin>{int(b[1])}</ymin>"
            f"<xmax>{int(b[2])}</xmax><ymax>{int(b[3])}</ymax></bndbox></object>"
            for b, label, d in zip(record.boxes, record.labels, record.difficult))
        (annotations / f"{record.image_id}.xml").write_text(f"<annotation>{objects}</annotation>")
    (tmp_path / "set.txt").write_text("\n".join(r.image_id for r in records))
    with open(tmp_path / f"det_{CLASSES[label]}.txt", "w") as file:
        for index, (boxes, scores, labels) in detections.items():
            for box, score in zip(boxes[labels == label], scores[labels == label]):
                file.write(f"{records[index].image_id} {score} {' '.join(str(v) for v in box)}\n")
    cache = tmp_path / f"cache_{label}_{threshold}"
    _, _, ap = voc_eval(str(tmp_path / "det_{:s}.txt"), str(annotations / "{:s}.xml"), str(tmp_path / "set.txt"),
                        CLASSES[label], str(cache), ovthresh=threshold, use_07_metric=True)
    return ap


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("threshold", [0.5, 0.75])
def test_class_ap_matches_yolox_voc_eval(tmp_path, monkeypatch, seed, threshold):
    monkeypatch.setattr(np, "bool", bool, raising=False)  # YOLOX 0.3.0 still uses np.bool (removed in NumPy 1.24)
    # integer boxes: YOLOX reads XML coordinates as ints
    records, detections = random_case(seed, miss_class=2 if seed % 2 else None)
    for record in records:
        record.boxes = np.round(record.boxes)
    for label in range(len(CLASSES)):
        if not any(np.any((r.labels == label) & ~r.difficult) for r in records):
            continue
        ours = class_ap(records, detections, label, threshold)
        assert ours == pytest.approx(yolox_voc_ap(tmp_path, records, detections, label, threshold), abs=1e-12)


def test_fixed_case_by_hand():
    # one image, two cats: detections 0.9 hits cat A, 0.8 duplicates cat A (FP), 0.7 hits a difficult cat (ignored),
    # 0.6 misses; recall reaches 1/2 at precision 1
    cat_a, cat_b = [0, 0, 99, 99], [200, 200, 299, 299]
    records = [VOCRecord("1", "", "", np.array([cat_a, cat_b, [400, 0, 450, 50]], float), np.array([0, 0, 0]),
                         np.array([False, False, True]), 500, 500)]
    boxes = np.array([cat_a, [1, 1, 99, 99], [400, 0, 450, 50], [100, 300, 150, 350]], float)
    detections = {0: (boxes, np.array([0.9, 0.8, 0.7, 0.6]), np.zeros(4, np.int64))}
    matches = match_class(records, detections, 0, 0.5)
    assert matches.outcome.tolist() == [1, 0, -1, 0] and matches.positives.tolist() == [2]
    assert class_ap(records, detections, 0, 0.5) == pytest.approx(6 / 11)  # precision 1 up to recall 0.5


def as_evaluation(records, detections):
    result = evaluate_voc(records, detections, CLASSES)
    return MatchedEvaluation(result.image_ids, result.matches50), result


def test_resampled_ap_equals_rescoring_the_resampled_images():
    records, detections = random_case(11, images=20)
    evaluation, result = as_evaluation(records, detections)
    ones = np.ones((1, len(records)), np.int64)
    assert resampled_map50(evaluation, ones)[0] == pytest.approx(result.map50)
    rng = np.random.default_rng(3)
    for _ in range(5):
        drawn = rng.integers(0, len(records), len(records))
        resampled = [records[i] for i in drawn]
        reference = evaluate_voc(resampled, {k: detections[i] for k, i in enumerate(drawn)}, CLASSES).map50
        weights = np.bincount(drawn, minlength=len(records))[None]
        assert resampled_map50(evaluation, weights)[0] == pytest.approx(reference, abs=1e-12)


def test_a_class_absent_from_a_resample_is_left_out():
    records, detections = random_case(5, images=10)
    evaluation, _ = as_evaluation(records, detections)
    name = next(iter(evaluation.matches50))
    weights = (evaluation.matches50[name].positives == 0).astype(np.int64)[None]
    assert np.isnan(resampled_ap(evaluation.matches50[name], weights)[0])


def test_paired_bootstrap_interval():
    records, detections = random_case(7, images=60)
    noisy, _ = as_evaluation(records, detections)
    perfect = {i: (r.boxes, np.linspace(1, 0.5, len(r.boxes)), r.labels) for i, r in enumerate(records)}
    exact, _ = as_evaluation(records, perfect)
    same = paired_bootstrap([noisy], [noisy], draws=200)
    assert (same.difference, same.low, same.high) == (0.0, 0.0, 0.0) and not same.excludes_zero
    better = paired_bootstrap([exact], [noisy], draws=200)
    assert better.difference > 0 and better.low > 0 and better.excludes_zero
    assert better.low <= better.difference <= better.high
    seeds = paired_bootstrap([exact, noisy], [noisy], draws=200)
    assert seeds.difference == pytest.approx(better.difference / 2)


def test_matches_round_trip_and_misaligned_images(tmp_path):
    records, detections = random_case(2)
    evaluation, _ = as_evaluation(records, detections)
    path = str(tmp_path / "run.matches.npz")
    save_matches(path, evaluation)
    loaded = load_matches(path)
    assert loaded.image_ids == evaluation.image_ids
    ones = np.ones((1, len(records)), np.int64)
    assert resampled_map50(loaded, ones)[0] == pytest.approx(resampled_map50(evaluation, ones)[0], abs=1e-6)
    other = MatchedEvaluation(list(reversed(evaluation.image_ids)), evaluation.matches50)
    with pytest.raises(DataError, match="same test images"):
        paired_bootstrap([evaluation], [other], draws=10)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="junk.npz: not a matches file"):
        load_matches(str(tmp_path / "junk.npz"))
    assert os.listdir(tmp_path)
