"""``tools/publish_weights.py RUN_DIR --name NAME --seed N``: a run's last-epoch EMA weights into weights/ with a
manifest entry (exp, seed, protocol, epochs, mAP, sha256, date), and its evaluation JSONs into results/quick/."""
import argparse
import json

from ..common import ConfigError, exits_cleanly_on_bad_input
from ..weights import publish, record_file_score


def make_parser():
    parser = argparse.ArgumentParser(description=__doc__.split(":")[1].strip())
    parser.add_argument("run_dir", nargs="?", default=None,
                        help="a finished run: latest_ckpt.pth and test_eval.json (not with --file-eval)")
    parser.add_argument("--name", required=True, help="file name in weights/ without .pth, e.g. final_k5_nano_s0")
    parser.add_argument("--seed", type=int, default=None, help="the run's seed (required with RUN_DIR)")
    parser.add_argument("--file-eval", default=None,
                        help="instead of publishing: record in --name's manifest entry the test score of the published "
                             "file itself (tools/eval.py -c weights/NAME.pth --json FILE), which for float16 files "
                             "differs a little from the run's")
    parser.add_argument("--protocol", default="quick")
    parser.add_argument("--dtype", default="float32", choices=["float16", "float32"],
                        help="float16 halves the file; tensors beyond its range (the stem BN's running variance) stay "
                             "float32. Measured within 0.02-0.18 mAP50 of float32 (docs/results.md): check the "
                             "evaluation before publishing it")
    parser.add_argument("--val-eval", default=None, help="tools/eval.py --split val --json of the same weights")
    parser.add_argument("--finetuned-from", default=None,
                        help="the weights file the run fine-tuned (tools/train.py -c): recorded by name and sha256")
    parser.add_argument("--weights-dir", default="weights")
    parser.add_argument("--results-dir", default="results/quick",
                        help="where the run's records are kept (with --file-eval: where file_test.json goes)")
    return parser


@exits_cleanly_on_bad_input
def main(argv=None):
    args = make_parser().parse_args(argv)
    if args.file_eval:
        if args.run_dir:
            raise ConfigError("--file-eval records the score of a file already published: give no RUN_DIR")
        print(json.dumps(record_file_score(args.weights_dir, args.name, args.file_eval, args.results_dir), indent=2))
        return
    if args.run_dir is None or args.seed is None:
        raise ConfigError("give RUN_DIR and --seed (or --file-eval)")
    entry = publish(args.run_dir, args.weights_dir, args.name, args.protocol, args.seed, args.dtype, args.val_eval,
                    args.results_dir, args.finetuned_from)
    print(json.dumps(entry, indent=2))


if __name__ == "__main__":
    main()
