"""``train``: one training run of an exp in this process, returning what it produced."""
from ..common import seed_everything
from .trainer import TrainOutcome


def train(exp, args) -> TrainOutcome:
    """Seed, build ``exp.get_trainer(args)`` (YOLOX's ``args``: batch size, device, fp16, resume, ...), train.

    The run goes to ``exp.output_dir/args.experiment_name`` (the exp's name when unset, as in YOLOX). Under
    ``core.launch`` every process calls this; the outcome's test result is on the main process only.
    """
    if not args.experiment_name:
        args.experiment_name = exp.exp_name
    if exp.seed is not None:
        seed_everything(exp.seed)
    trainer = exp.get_trainer(args)
    trainer.train()
    return trainer.outcome()
