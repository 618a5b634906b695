"""``tools/benchmark.py``: every exp side by side (stock first): size, CPU latency, optionally training + mAP."""
import argparse
import glob
import json
import os
import statistics
import time

from ..benchmark import (
    RUNTIMES,
    add_evaluations,
    combine_runs,
    measure_variants,
    onnx_time_by_op,
    plain_loop_img_per_s,
    profile_table,
    profile_training_step,
    read_ablations,
    read_evaluations,
    step_profile_table,
    untie_constants,
    write_report,
)
from ..common import ConfigError, atomic_write_text, exits_cleanly_on_bad_input
from ..common.timing import ThreadSettings
from ..core import TrainOptions, train
from ..data.synthetic import make_synthetic_voc
from ..evaluation import load_weights
from ..protocol import PROTOCOLS
from ..quantize import training_images
from ..weights import published_file
from .common import load_exp

REFERENCE_EXP = "yolox_voc_nano.py"


def default_exps(exp_dir="exps"):
    return stock_first(sorted(glob.glob(os.path.join(exp_dir, "*.py"))))


def stock_first(exp_files):
    """The reference exp first (every ratio and difference is to it), the others in the order given."""
    return sorted(exp_files, key=lambda f: os.path.basename(f) != REFERENCE_EXP)


def make_parser():
    parser = argparse.ArgumentParser(description="Measure every exp on one machine in one run")
    parser.add_argument("--exps", nargs="+", default=None, help="exp files, stock moved first (default: exps/*.py)")
    parser.add_argument("--data-dir", default=None, help="VOCdevkit for --train")
    parser.add_argument("--sizes", nargs="+", type=int, default=[416, 320], help="latency input sizes")
    parser.add_argument("--runtimes", nargs="+", default=["torch", "onnx"], choices=list(RUNTIMES),
                        help="latency columns; the INT8 ones are calibrated on --calib training images of --data-dir "
                             "(generated images with --quick)")
    parser.add_argument("--calib", type=int, default=50, help="calibration images for the INT8 runtimes")
    parser.add_argument("--weights", default="weights",
                        help="published weights folder: an exp listed in its manifest is timed with those weights; "
                             "the others with untrained weights whose BN statistics are untied (seeded random), "
                             "since default-initialised ones make ONNX Runtime's INT8 graph slower than a trained "
                             "model's")
    parser.add_argument("--rounds", type=int, default=7,
                        help="latency rounds: every model and runtime times one warm block per round, the order "
                             "rotated between rounds; ratios to stock are taken within each round")
    parser.add_argument("--calls", type=int, default=20,
                        help="timed batch-1 calls per block (and runs of --profile)")
    parser.add_argument("--threads", type=int, default=2, help="compute threads of every runtime")
    parser.add_argument("--train", action="store_true", help="also train every exp on the same protocol and data")
    parser.add_argument("--protocol", default="quick", choices=sorted(PROTOCOLS),
                        help="training protocol of --train and --train-profile (yolox_mods/protocol.py)")
    parser.add_argument("--epochs", type=int, default=None, help="override the protocol's max_epoch")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-b", "--batch-size", type=int, default=16)
    parser.add_argument("--evals", nargs="+", default=[],
                        help="tools/eval.py --json files of runs trained elsewhere on one protocol: their mAP "
                             "(mean over files of one exp, e.g. seeds) fills the table")
    parser.add_argument("--mixed-settings", action="store_true",
                        help="with --evals: compare runs trained with different protocols or loader settings (refused "
                             "otherwise, naming the difference)")
    parser.add_argument("--combine", nargs="+", default=None, metavar="RUN_DIR",
                        help="measure nothing: tabulate the latency ratios of earlier runs (their --output folders) "
                             "side by side, with whether each is resolved to +-10%% in every run and the runs agree; "
                             "written to --output/runs.md")
    parser.add_argument("--ablations", default=os.path.join("exps", "ablations.yaml"),
                        help="YAML rows of the ablation table (with/without exp pairs); none when the file is absent")
    parser.add_argument("--output", default=os.path.join("YOLOX_outputs", "benchmark"),
                        help="where the tables and plots go; the committed ones are written only with --output results")
    parser.add_argument("--profile", action="store_true",
                        help="ONNX Runtime time per kind of node (depthwise 7x7, conv 1x1, ...) for every exp at the "
                             "first --sizes entry, written to onnx_profile.md")
    parser.add_argument("--train-speed", action="store_true",
                        help="training img/s of the project's trainer vs a plain loop around YOLOX's own pieces, "
                             "same settings, for the first exp (one epoch of --data-dir each, alternating)")
    parser.add_argument("--train-profile", action="store_true",
                        help="share of a training step per phase (data, forward, SimOTA assignment, rest of the "
                             "loss, backward, optimizer, EMA) for every exp on --data-dir with --protocol's settings, "
                             "written to train_profile.md")
    parser.add_argument("--fast-path", nargs="+", default=None, metavar="KEY VALUE",
                        help="with --train-speed: exp overrides of a candidate faster path (e.g. data_num_workers 0), "
                             "trained in every round beside the default; its img/s over the default's is reported")
    parser.add_argument("--profile-iterations", type=int, default=30)
    parser.add_argument("--speed-rounds", type=int, default=2)
    parser.add_argument("--speed-size", type=int, default=256)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run on generated data: 128px latency, 2 rounds of 3 calls, the 'smoke' protocol "
                             "(1 epoch at 128px) instead of --protocol")
    return parser


def train_and_evaluate(exp_file, args, runs_dir):
    """Train ``exp_file`` on ``args.protocol`` and return its outcome (test result of the last epoch's EMA)."""
    overrides = ["data_dir", args.data_dir, "output_dir", runs_dir, "seed", str(args.seed)]
    if args.epochs:
        overrides += ["max_epoch", str(args.epochs), "no_aug_epochs", str(min(args.epochs, 5))]
    exp = load_exp(exp_file, overrides, args.protocol)
    return train(exp, TrainOptions(batch_size=args.batch_size, device="cpu", cache=True))


def measure_train_speed(exp_file, args):
    """Alternating rounds of (our trainer, plain loop[, our trainer with ``--fast-path``]) on the same exp, data and
    settings (the "train_speed" protocol at ``--speed-size``, batch ``-b``); our trainer runs one epoch and the
    plain loop as many iterations."""
    size = args.speed_size
    overrides = ["data_dir", args.data_dir, "input_size", f"({size},{size})", "test_size", f"({size},{size})",
                 "seed", str(args.seed)]

    def our_img_per_s(index, extra=()):
        run_dir = os.path.join(args.output, "speed_runs", f"round{index}" + ("_fast" if extra else ""))
        exp = load_exp(exp_file, overrides + ["output_dir", run_dir, *extra], "train_speed")
        outcome = train(exp, TrainOptions(batch_size=args.batch_size, device="cpu", cache=True))
        return exp, outcome.img_per_s, outcome.images // args.batch_size

    rounds = []
    for index in range(args.speed_rounds):
        exp, ours, iterations = our_img_per_s(index)
        plain = plain_loop_img_per_s(load_exp(exp_file, overrides, "train_speed"), args.batch_size, iterations)
        measured = {"plain_img_per_s": round(plain, 2), "ours_img_per_s": round(ours, 2),
                    "ratio": round(ours / plain, 3)}
        line = (f"train speed round {index + 1}: plain loop {plain:.1f} img/s, ours {ours:.1f} img/s "
                f"({ours / plain:.2f}x)")
        if args.fast_path:
            fast = our_img_per_s(index, args.fast_path)[1]
            measured.update(fast_img_per_s=round(fast, 2), fast_ratio=round(fast / ours, 3))
            line += f", ours with {' '.join(args.fast_path)} {fast:.1f} img/s ({fast / ours:.2f}x ours)"
        rounds.append(measured)
        print(line)
    result = {"exp": exp.exp_name, "size": size, "batch_size": args.batch_size, "iterations": iterations,
              "data_dir": args.data_dir, "rounds": rounds,
              "median_ratio": round(statistics.median(r["ratio"] for r in rounds), 3)}
    if args.fast_path:
        result.update(fast_path=args.fast_path,
                      median_fast_ratio=round(statistics.median(r["fast_ratio"] for r in rounds), 3))
    atomic_write_text(os.path.join(args.output, "train_speed.json"), json.dumps(result, indent=2))
    return result


def timed_models(exp_files, weights_dir, schedules=None):
    """(exp name -> model, exp name -> published weights file it was loaded with): the exp's published weights of
    the schedule its evaluations record (``schedules``: exp name -> epochs; ``published_file``) when there are
    some, else untrained weights with untied BN statistics (``untie_constants``)."""
    schedules = schedules or {}
    models, published = {}, {}
    for exp_file in exp_files:
        exp = load_exp(exp_file)
        model = exp.get_model()
        path = published_file(weights_dir, exp.exp_name, schedules.get(exp.exp_name))
        if path is not None:
            load_weights(exp, model, path)
            published[exp.exp_name] = path
        else:
            untie_constants(model)
        models[exp.exp_name] = model
    return models, published


@exits_cleanly_on_bad_input
def main(argv=None):
    args = make_parser().parse_args(argv)
    if args.combine:
        table = combine_runs(args.combine)
        os.makedirs(args.output, exist_ok=True)
        atomic_write_text(os.path.join(args.output, "runs.md"), table + "\n")
        print(table)
        return
    exp_files = stock_first(args.exps) if args.exps else default_exps()
    if args.quick:
        if args.protocol != "quick":
            raise ConfigError(f"--quick trains on the 'smoke' protocol; --protocol {args.protocol} does not apply")
        args.sizes, args.rounds, args.calls, args.protocol = [128], 2, 3, "smoke"
        args.speed_size = 128 if args.speed_size == 256 else args.speed_size
    if args.train and args.evals:
        raise ConfigError("--train and --evals both give the mAP columns; use one")
    if args.fast_path and not args.train_speed:
        raise ConfigError("--fast-path is a candidate of --train-speed; add --train-speed")
    if args.fast_path and len(args.fast_path) % 2:
        raise ConfigError(f"--fast-path takes KEY VALUE pairs; got {len(args.fast_path)} words")
    int8 = any(runtime.endswith("-int8") for runtime in args.runtimes)
    if (args.train or args.train_speed or args.train_profile or int8) and args.data_dir is None:
        if not args.quick:
            raise ConfigError("--train, --train-speed, --train-profile and INT8 runtimes need --data-dir (a "
                              "VOCdevkit), or --quick for generated data")
        args.data_dir = make_synthetic_voc(os.path.join(args.output, "data"), 32, 8, 128)
    started = time.strftime("%Y-%m-%d %H:%M")
    if args.mixed_settings and not args.evals:
        raise ConfigError("--mixed-settings goes with --evals")
    evaluations = read_evaluations(args.evals, {exp.exp_name: exp.act for exp in map(load_exp, exp_files)},
                                   args.mixed_settings)
    ablations = read_ablations(args.ablations) if os.path.exists(args.ablations) else []
    schedules = {exp: runs[0].record.epoch for exp, runs in evaluations.items() if runs[0].record.epoch is not None}
    models, published = timed_models(exp_files, args.weights, schedules)
    calibration = (training_images(load_exp(exp_files[0], ["data_dir", args.data_dir]), args.calib) if int8
                   else None)
    threads = ThreadSettings(threads=args.threads)
    results, latency = measure_variants(models, args.sizes, args.runtimes, args.rounds, args.calls,
                                        calibration=calibration, threads=threads)
    os.makedirs(args.output, exist_ok=True)
    atomic_write_text(os.path.join(args.output, "latency.json"), json.dumps(
        {**latency.to_dict(), "runtimes": {r: RUNTIMES[r] for r in args.runtimes}, "sizes": args.sizes,
         "weights": published, "calibration": list(calibration or [])}, indent=2))
    add_evaluations(results, evaluations, ablations)
    if args.train:
        for exp_file in exp_files:
            outcome = train_and_evaluate(exp_file, args, os.path.join(args.output, "runs"))
            variant = results[load_exp(exp_file).exp_name]
            variant.map50, variant.map50_95 = outcome.test.map50, outcome.test.map50_95
            variant.per_class_ap50, variant.train_img_per_s = outcome.test.per_class_ap50, outcome.img_per_s
    header = (f"Measured {started}. Latency: {latency.describe()}. ONNX with MixConv merged at export; "
              + "; ".join(f"{r}: {RUNTIMES[r]}" for r in args.runtimes)
              + f". Ratios are to {next(iter(models))} within each round (median over rounds, bootstrap 95% "
                "interval; 'not resolved' when wider than +-10%): PyTorch to its PyTorch time, every other runtime "
                "to its ONNX Runtime FP32 time when measured."
              + (f" INT8 calibrated on {len(calibration)} training images of {args.data_dir} (listed in "
                 "latency.json)." if int8 else "")
              + f" Weights: {', '.join(f'{n} {f}' for n, f in published.items()) or 'none published'}; the others "
                f"untrained with untied BN statistics."
              + (f" Training: protocol {args.protocol!r}, seed {args.seed}, data {args.data_dir}." if args.train
                 else "")
              + (f" mAP from {len(args.evals)} tools/eval.py results: {', '.join(args.evals)}." if args.evals else ""))
    if args.profile:
        size = args.sizes[0]
        profiles = {name: onnx_time_by_op(model, size, runs=args.calls) for name, model in models.items()}
        table = profile_table(profiles)
        atomic_write_text(os.path.join(args.output, "onnx_profile.md"),
                          f"ONNX Runtime profiler, batch 1, {size}x{size}, mean of {args.calls} runs "
                          f"({started}).\n\n{table}\n")
        print(table)
    if args.train_speed:
        speed = measure_train_speed(exp_files[0], args)
        header += (f" Training speed of {speed['exp']} ({speed['size']}px, batch {speed['batch_size']}, mosaic 0.5, "
                   f"{speed['iterations']} iterations per round): our trainer / plain YOLOX loop = "
                   + ", ".join(f"{r['ours_img_per_s']:.1f} / {r['plain_img_per_s']:.1f} img/s ({r['ratio']:.2f}x)"
                               for r in speed["rounds"]) + ".")
        if args.fast_path:
            header += (f" Ours with {' '.join(args.fast_path)} / ours: "
                       + ", ".join(f"{r['fast_img_per_s']:.1f} / {r['ours_img_per_s']:.1f} img/s "
                                   f"({r['fast_ratio']:.2f}x)" for r in speed["rounds"]) + ".")
    if args.train_profile:
        profiles = {}
        for exp_file in exp_files:
            exp = load_exp(exp_file, ["data_dir", args.data_dir, "seed", str(args.seed)], args.protocol)
            profiles[exp.exp_name] = profile_training_step(exp, args.batch_size, args.profile_iterations)
        table = step_profile_table(profiles, args.batch_size)
        atomic_write_text(os.path.join(args.output, "train_profile.md"),
                          f"Training step by phase ({started}, protocol {args.protocol!r}, batch {args.batch_size}, "
                          f"{args.profile_iterations} iterations after 5 warm-up, data {args.data_dir}).\n\n"
                          f"{table}\n")
        print(table)
    print(header)
    print(write_report(list(results.values()), args.output, header, ablations))


if __name__ == "__main__":
    main()
