"""The paired bootstrap interval of a mAP50 difference (``evaluators.paired_bootstrap``) has the coverage it claims:
over many test sets drawn from one simulated population of images, about 95% of the intervals hold the
difference a test set of that size measures on average, and the interval narrows with more images.

The target is that average, not the population's own difference: VOC's interpolated AP is a biased estimator on
a finite test set (its max over the precision curve), so every size has its own expected value. In this
simulation it was +0.027 at 150 images, +0.022 at 600 and +0.008 on all 2,000. Comparisons in this project are
between models scored on one test set, so the expectation at that size is what an interval must cover."""
import numpy as np

from tests.test_voc_map import CLASSES, random_case
from yolox_mods.evaluators import ClassMatches, MatchedEvaluation, match_class, paired_bootstrap
from yolox_mods.evaluators.bootstrap import resampled_map50


def population():
    """2,000 images; the second model is the first with 30% of its detections dropped at random."""
    records, better = random_case(3, images=2000)
    rng = np.random.default_rng(1)
    worse = {}
    for index, (boxes, scores, labels) in better.items():
        keep = rng.random(len(scores)) > 0.3
        worse[index] = (boxes[keep], scores[keep], labels[keep])

    def matched(detections):
        return MatchedEvaluation([r.image_id for r in records],
                                 {name: match_class(records, detections, label, 0.5)
                                  for label, name in enumerate(CLASSES)})

    return matched(better), matched(worse)


def restricted_to(evaluation, images):
    """The judged detections of ``images`` (sorted indices) only, as if they were the whole test set."""
    position = {image: k for k, image in enumerate(images)}
    return MatchedEvaluation([evaluation.image_ids[i] for i in images], {
        name: ClassMatches(np.array([position[i] for i in m.image[np.isin(m.image, images)]], np.int64),
                           m.score[np.isin(m.image, images)], m.outcome[np.isin(m.image, images)],
                           m.positives[images])
        for name, m in evaluation.matches50.items()})


def test_the_interval_covers_about_95_percent_and_narrows_with_more_images():
    better, worse = population()
    rng = np.random.default_rng(7)
    count = len(better.image_ids)
    widths = {}
    for size in (150, 600):
        # the expected difference at this size, by Monte Carlo over test sets (no bootstrap involved)
        weights = np.zeros((400, count), np.int64)
        for row in weights:
            row[rng.choice(count, size, replace=False)] = 1
        target = float(np.mean(resampled_map50(better, weights) - resampled_map50(worse, weights)))
        covered, widths[size] = 0, []
        for replicate in range(80):
            images = np.sort(rng.choice(count, size, replace=False))
            interval = paired_bootstrap([restricted_to(better, images)], [restricted_to(worse, images)], draws=200,
                                        seed=replicate)
            covered += interval.low <= target <= interval.high
            widths[size].append(interval.high - interval.low)
        # 95% nominal; 80 replicates have a binomial sd of 2.4 points, so 88% is three sd below
        assert covered / 80 >= 0.88, (size, covered)
    # four times the images: about half the width (1 / sqrt(4))
    assert np.mean(widths[600]) < 0.7 * np.mean(widths[150])
