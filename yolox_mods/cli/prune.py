"""``tools/prune.py -n <exp> -c ckpt --target-gflops G -o pruned.pth``: structured channel pruning of a trained
detector to a GFLOPs budget (or a ratio), BatchNorm statistics re-estimated on training images; the pruned
checkpoint loads in every tool with the same exp and fine-tunes with ``tools/train.py -c``."""
import argparse
import json

import torch
from loguru import logger

from ..common import ConfigError, exits_cleanly_on_bad_input
from ..common.cli import warn_if_cores_are_shared
from ..core import resolve_device
from ..exp_files import chosen_exp_file, load_exp
from ..pruning import IMPORTANCES, PruneSettings, plan_exclusions, prune_checkpoint
from .common import add_lite_arguments


def make_parser():
    parser = argparse.ArgumentParser(description="Prune a trained yolox-lite detector's channels to a budget")
    parser.add_argument("-f", "--exp_file", default=None)
    parser.add_argument("-n", "--name", default=None, help="exp name in exps/ (instead of -f)")
    parser.add_argument("-c", "--ckpt", default=None, help="the trained weights to prune (a run checkpoint, a "
                        "published file or an already pruned checkpoint)")
    parser.add_argument("-o", "--output", default=None, help="the pruned checkpoint to write")
    parser.add_argument("--target-gflops", type=float, default=None,
                        help="GFLOPs budget at --size (YOLOX's count: 2 x thop MACs): the pruned model has at "
                             "most this and at least (1 - --tolerance) of it")
    parser.add_argument("--ratio", type=float, default=None,
                        help="instead of a budget: the fraction of each channel group removed (of all prunable "
                             "channels with --global)")
    parser.add_argument("--importance", default="l2", choices=IMPORTANCES,
                        help="which channels go: smallest L1/L2 weight magnitude of the group, smallest BatchNorm "
                             "scale (network slimming), or first-order Taylor (loss gradients on training batches)")
    parser.add_argument("--global", dest="global_pruning", action="store_true",
                        help="rank channels across the whole model instead of within each group")
    parser.add_argument("--round-to", type=int, default=None, help="keep every pruned width a multiple of this")
    parser.add_argument("--steps", type=int, default=1,
                        help="iterative pruning: reach the same widths in this many steps, importance re-estimated "
                             "(and BatchNorm recalibrated) after each")
    parser.add_argument("--size", type=int, default=416, help="input size the GFLOPs are counted at")
    parser.add_argument("--tolerance", type=float, default=0.02,
                        help="how far below the budget the pruned model may fall (relative)")
    parser.add_argument("-b", "--batch-size", type=int, default=16)
    parser.add_argument("--calibration-batches", type=int, default=20,
                        help="training batches the BatchNorm statistics are re-estimated on (0: keep them)")
    parser.add_argument("--gradient-batches", type=int, default=8, help="training batches of --importance taylor")
    parser.add_argument("--report", action="store_true",
                        help="only print which channels are prunable and which are kept (no -c, -o or data)")
    add_lite_arguments(parser)
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="exp overrides: key value ...")
    return parser


@exits_cleanly_on_bad_input
def main(argv=None):
    args = make_parser().parse_args(argv)
    exp = load_exp(chosen_exp_file(args.exp_file, args.name), args.opts, args.protocol)
    if args.lenient:
        exp.data_strict = False
    if args.report:
        model = exp.get_model().eval()
        print(plan_exclusions(model, torch.randn(1, 3, 256, 256))[2].describe())
        return
    if args.ckpt is None or args.output is None:
        raise ConfigError("give the weights to prune (-c) and where to write them (-o), or --report")
    settings = PruneSettings(importance=args.importance, target_gflops=args.target_gflops, ratio=args.ratio,
                             global_pruning=args.global_pruning, round_to=args.round_to, size=args.size,
                             tolerance=args.tolerance, steps=args.steps)
    settings.check()
    warn_if_cores_are_shared(logger.warning)
    device = resolve_device(args.device)
    result = prune_checkpoint(exp, args.ckpt, settings, args.output, args.batch_size, args.calibration_batches,
                              args.gradient_batches, device)
    print(result.report.describe())
    print(json.dumps({key: value for key, value in result.to_dict().items() if key != "report"}, indent=2))
    print(f"wrote {args.output}: {result.gflops_before:.3f} -> {result.gflops:.3f} GFLOPs at {args.size}, "
          f"{result.params_before:.3f}M -> {result.params:.3f}M params (ratio {result.ratio:.3f}); fine-tune it "
          f"with tools/train.py -n {exp.exp_name} -c {args.output}")


if __name__ == "__main__":
    main()
