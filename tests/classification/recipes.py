"""Seconds-long compression recipes for the tests."""


def tiny_recipe(stages: str, input_size: int = 32, batch_size: int = 8) -> str:
    """A recipe with the smallest ShuffleNetV1 (one unit per stage), one epoch per stage, and ``stages`` (YAML
    list lines)."""
    return (f"input_size: {input_size}\nmodel: {{groups: 3, width: 0.25, stage_repeats: [1, 1, 1]}}\n"
            f"train: {{epochs: 1, batch_size: {batch_size}, lr: 0.05, num_workers: 0}}\nstages:\n{stages}")
