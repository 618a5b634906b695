"""``python -m classification.compress``: run a compression recipe, stage by stage, resumably (stage kinds:
``--list``; the pipeline: ``classification.pipeline``)."""
import argparse
import os

from loguru import logger

from yolox_mods.common import exits_cleanly_on_bad_input
from yolox_mods.common.cli import warn_if_cores_are_shared

from ..data import data_or_generated, load_data
from ..pipeline import Pipeline, results_table
from ..recipe import describe, load_recipe, packaged_recipes


def make_parser():
    parser = argparse.ArgumentParser(prog="python -m classification.compress",
                                     description="Run a compression recipe, stage by stage, resumably")
    parser.add_argument("--data", default=None,
                        help="ImageFolder root with train/, val/ and test/ (default: generated); F1 is reported on "
                             "test, val is where recipes are compared")
    parser.add_argument("--recipe", default="default",
                        help=f"a recipe file, or the name of a packaged one ({', '.join(packaged_recipes())})")
    parser.add_argument("--output", default=os.path.join("runs", "compress"))
    parser.add_argument("--stages", nargs="+", default=None, help="run only these stages (by name)")
    parser.add_argument("--seed", type=int, default=None,
                        help="the recipe's training seed (initial weights and data order of every stage without "
                             "a seed of its own); one --output per seed")
    parser.add_argument("--lenient", action="store_true", help="leave out unreadable images instead of stopping")
    parser.add_argument("--force", action="store_true",
                        help="run again the stages whose recorded data or config differ (default: stop and say so)")
    parser.add_argument("--list", action="store_true", help="print the stage kinds with their keys and defaults")
    return parser


@exits_cleanly_on_bad_input
def main(argv=None) -> None:
    args = make_parser().parse_args(argv)
    if args.list:
        print(describe())
        return
    recipe = load_recipe(args.recipe)
    if args.seed is not None:
        recipe["train"] = {**recipe.get("train", {}), "seed": args.seed}
    warn_if_cores_are_shared(logger.warning)
    data = data_or_generated(args.data, args.output)
    train_split, val_split, test_split = load_data(data, strict=not args.lenient)
    if test_split is None:
        logger.warning("{} has no test/ split: F1 and scores are reported on val, where choices are made", data)
    pipeline = Pipeline(recipe, train_split, val_split, args.output, force=args.force, test_split=test_split)
    pipeline.run(args.stages)
    print(results_table(pipeline.rows))
    print(f"results: {os.path.join(args.output, 'results.md')} (and .json, .png)")


if __name__ == "__main__":
    main()
