"""``tools/benchmark.py COMMAND``: every exp side by side on one machine (stock first, every ratio to it).

- ``latency``: params, GFLOPs and CPU latency in PyTorch, ONNX Runtime and OpenVINO (FP32, bf16, INT8) from the
  latency harness; writes ``latency.json`` and the latency table;
- ``report``: the variant, deployment and ablation tables of a ``latency`` run with the mAP of evaluated runs
  (``--evals``), or several ``latency`` runs side by side (``--runs``);
- ``profile``: ONNX Runtime time per kind of node;
- ``train-speed``: our trainer against a plain loop around YOLOX's pieces;
- ``train-profile``: a training step's time by phase.
"""
import argparse
import glob
import json
import os
import time

from ..benchmark import (
    RUNTIMES,
    add_evaluations,
    combine_runs,
    compare_train_speed,
    measure_variants,
    model_size,
    onnx_time_by_op,
    profile_table,
    profile_training_step,
    read_ablations,
    read_evaluations,
    step_profile_table,
    untie_constants,
    variant_results,
    write_report,
)
from ..common import (
    CheckpointError,
    ConfigError,
    DataError,
    atomic_write_text,
    exits_cleanly_on_bad_input,
    load_checkpoint,
)
from ..common.timing import LatencyRun, ThreadSettings
from ..data.synthetic import make_synthetic_voc
from ..evaluation import load_weights
from ..exp_files import exp_file_for, load_exp
from ..protocol import PROTOCOLS
from ..quantize import training_images
from ..weights import published_file

REFERENCE_EXP = "yolox_voc_nano.py"
COMMANDS = ("latency", "report", "profile", "train-speed", "train-profile")


def default_exps(exp_dir="exps"):
    return stock_first(sorted(glob.glob(os.path.join(exp_dir, "*.py"))))


def stock_first(exp_files):
    """The reference exp first (every ratio and difference is to it), the others in the order given."""
    return sorted(exp_files, key=lambda f: os.path.basename(f) != REFERENCE_EXP)


def make_parser():
    parser = argparse.ArgumentParser(prog="tools/benchmark.py", description="Measure every exp on one machine")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join(COMMANDS) + "}")

    def command(name, help_text, exps=True, output="benchmark"):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if exps:
            sub.add_argument("--exps", nargs="+", default=None,
                             help="exp files, stock moved first (default: exps/*.py)")
        sub.add_argument("--output", default=os.path.join("YOLOX_outputs", output),
                         help="where the tables and plots go (the committed ones live under results/)")
        return sub

    latency = command("latency", "params, GFLOPs and CPU latency of every exp from the latency harness")
    latency.add_argument("--sizes", nargs="+", type=int, default=[416, 256], help="input sizes")
    latency.add_argument("--runtimes", nargs="+", default=["torch", "onnx"], choices=list(RUNTIMES),
                         help="latency columns; the INT8 ones are calibrated on --calib training images of "
                              "--data-dir (generated images with --quick)")
    latency.add_argument("--data-dir", default=None, help="VOCdevkit whose training images calibrate INT8")
    latency.add_argument("--calib", type=int, default=32, help="calibration images for the INT8 runtimes")
    latency.add_argument("--weights", default="weights",
                         help="published weights folder: an exp listed in its manifest is timed with those weights; "
                              "the others with untrained weights whose BN statistics are untied (seeded random), "
                              "since default-initialised ones make ONNX Runtime's INT8 graph slower than a trained "
                              "model's")
    latency.add_argument("--schedule", type=int, default=None,
                         help="time the published weights of this many epochs (default: each exp's shortest)")
    latency.add_argument("--rounds", type=int, default=7,
                         help="rounds: every model and runtime times one warm block per round, the order rotated "
                              "between rounds; ratios to stock are taken within each round")
    latency.add_argument("--calls", type=int, default=20, help="timed batch-1 calls per block")
    latency.add_argument("--threads", type=int, default=2, help="compute threads of every runtime")
    latency.add_argument("--quick", action="store_true",
                         help="smoke run: 128px, 2 rounds of 3 calls, generated calibration images")

    report = command("report", "the variant, deployment and ablation tables: a latency run with the mAP of "
                               "evaluated runs, or several latency runs side by side", exps=False)
    report.add_argument("--latency", default=None, metavar="RUN_DIR",
                        help="the output folder of a `latency` run: its exps, sizes and ratios")
    report.add_argument("--evals", nargs="+", default=[],
                        help="tools/eval.py --json files (or runs' test_eval.json) of runs on one protocol: their mAP "
                             "(mean over files of one exp, e.g. seeds) and paired bootstrap intervals fill the table; "
                             "LABEL=FILE files one under the latency run's --checkpoints row LABEL")
    report.add_argument("--mixed-settings", action="store_true",
                        help="compare runs trained with different protocols or loader settings (refused otherwise, "
                             "naming the difference)")
    report.add_argument("--ablations", default=os.path.join("exps", "ablations.yaml"),
                        help="YAML rows of the ablation table (with/without exp pairs); none when the file is absent")
    report.add_argument("--runs", nargs="+", default=None, metavar="RUN_DIR",
                        help="instead: the ratios of several `latency` runs side by side, with whether each is "
                             "resolved to +-10%% in every run and the runs agree (runs.md)")

    profile = command("profile", "ONNX Runtime time per kind of node (depthwise 7x7, conv 1x1, ...) of every exp")
    profile.add_argument("--size", type=int, default=416)
    profile.add_argument("--calls", type=int, default=30, help="profiled batch-1 runs per exp")

    speed = command("train-speed", "training img/s of the project's trainer against a plain loop around YOLOX's "
                                   "own pieces, same settings, alternating rounds, for the first exp")
    profile_step = command("train-profile", "share of a training step per phase (data, forward, SimOTA, rest of "
                                            "the loss, backward, optimizer, EMA) for every exp")
    for sub in (speed, profile_step):
        sub.add_argument("--data-dir", default=None, help="VOCdevkit to train on")
        sub.add_argument("-b", "--batch-size", type=int, default=16)
        sub.add_argument("--seed", type=int, default=0)
        sub.add_argument("--quick", action="store_true", help="smoke run on generated 128px data")
    speed.add_argument("--rounds", type=int, default=2, help="alternating rounds (one epoch of ours each)")
    speed.add_argument("--size", type=int, default=256)
    speed.add_argument("--fast-path", nargs="+", default=None, metavar="KEY VALUE",
                       help="exp overrides of a candidate faster path (e.g. data_num_workers 0), trained in every "
                            "round beside the default; its img/s over the default's is reported")
    profile_step.add_argument("--protocol", default="quick", choices=sorted(PROTOCOLS),
                              help="the exp settings of the profiled steps (yolox_mods/protocol.py)")
    profile_step.add_argument("--iterations", type=int, default=30, help="profiled iterations after 5 warm-up")
    latency.add_argument("--checkpoints", nargs="+", default=[], metavar="LABEL=CKPT",
                         help="also time these checkpoints (pruned ones included) as rows LABEL, each built by the "
                              "exp it records")
    return parser


def checkpoint_models(specs):
    """(label -> model, label -> file, label -> activation) of ``LABEL=CKPT`` specs, each model built by the exp
    its checkpoint records (its ``exp_name``) and loaded with it, a pruned one in its own architecture. Its
    evaluations join the row in ``report`` as ``--evals LABEL=FILE``."""
    models, files, acts = {}, {}, {}
    for spec in specs:
        label, separator, path = spec.partition("=")
        if not separator or not label or not path:
            raise ConfigError(f"--checkpoints takes LABEL=CKPT, got {spec!r}")
        exp_name = load_checkpoint(path).get("exp_name")
        if exp_name is None:
            raise CheckpointError(f"{path}: records no exp_name to build it with")
        exp = load_exp(exp_file_for(exp_name))
        model = exp.get_model()
        load_weights(exp, model, path)
        models[label], files[label], acts[label] = model, path, exp.act
    return models, files, acts


def timed_models(exp_files, weights_dir, schedules=None):
    """(exp name -> model, exp name -> published weights file it was loaded with): the exp's published weights of
    the schedule given for it (``schedules``: exp name -> epochs; ``published_file``) when there are some, else
    untrained weights with untied BN statistics (``untie_constants``)."""
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


def generated_data(args):
    """``args.data_dir``, or with ``--quick`` a generated VOCdevkit under ``--output``."""
    if args.data_dir is None:
        if not args.quick:
            raise ConfigError(f"{args.command} needs --data-dir (a VOCdevkit), or --quick for generated data")
        args.data_dir = make_synthetic_voc(os.path.join(args.output, "data"), 32, 8, 128)
    return args.data_dir


def run_latency(args, exp_files):
    if args.quick:
        args.sizes, args.rounds, args.calls = [128], 2, 3
    int8 = any(runtime.endswith("-int8") for runtime in args.runtimes)
    models, published = timed_models(exp_files, args.weights,
                                     {load_exp(f).exp_name: args.schedule for f in exp_files} if args.schedule else {})
    extra_models, extra_files, extra_acts = checkpoint_models(args.checkpoints)
    if set(extra_models) & set(models):
        raise ConfigError(f"--checkpoints label {sorted(set(extra_models) & set(models))[0]!r} is an exp's name")
    models.update(extra_models)
    published.update(extra_files)
    calibration = training_images(load_exp(exp_files[0], ["data_dir", generated_data(args)]), args.calib) if int8 \
        else None
    results, latency = measure_variants(models, args.sizes, args.runtimes, args.rounds, args.calls,
                                        calibration=calibration, threads=ThreadSettings(threads=args.threads))
    header = (f"Measured {time.strftime('%Y-%m-%d %H:%M')}. Latency: {latency.describe()}. ONNX with MixConv merged "
              "at export; " + "; ".join(f"{r}: {RUNTIMES[r]}" for r in args.runtimes)
              + f". Ratios are to {next(iter(models))} within each round (median over rounds, bootstrap 95% "
                "interval; 'not resolved' when wider than +-10%): PyTorch to its PyTorch time, every other runtime "
                "to its ONNX Runtime FP32 time when measured."
              + (f" INT8 calibrated on {len(calibration)} training images of {args.data_dir} (listed in "
                 "latency.json)." if int8 else "")
              + f" Weights: {', '.join(f'{n} {f}' for n, f in published.items()) or 'none published'}; the others "
                "untrained with untied BN statistics.")
    os.makedirs(args.output, exist_ok=True)
    atomic_write_text(os.path.join(args.output, "latency.json"), json.dumps(
        {**latency.to_dict(), "header": header, "exps": exp_files, "checkpoints": args.checkpoints,
         "checkpoint_acts": extra_acts,
         "model_sizes": {name: [result.params_m, result.gflops] for name, result in results.items()},
         "runtimes": {r: RUNTIMES[r] for r in args.runtimes},
         "sizes": args.sizes, "weights": published, "calibration": list(calibration or [])}, indent=2))
    print(header)
    print(write_report(list(results.values()), args.output, header))


def run_report(args):
    if args.runs:
        if args.latency or args.evals:
            raise ConfigError("--runs compares latency runs; give it without --latency and --evals")
        table = combine_runs(args.runs)
        os.makedirs(args.output, exist_ok=True)
        atomic_write_text(os.path.join(args.output, "runs.md"), table + "\n")
        print(table)
        return
    if not args.latency:
        raise ConfigError("give --latency RUN_DIR (a `latency` run's output folder), or --runs")
    path = os.path.join(args.latency, "latency.json")
    try:
        with open(path) as file:
            stored = json.load(file)
        exp_files = list(stored["exps"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DataError(f"{path}: not a latency run written by tools/benchmark.py latency ({error!r})") from None
    run = LatencyRun.from_dict(stored, path)
    exps = [load_exp(exp_file) for exp_file in exp_files]
    acts = {**{exp.exp_name: exp.act for exp in exps}, **stored.get("checkpoint_acts", {})}
    evaluations = read_evaluations(args.evals, acts, args.mixed_settings)
    ablations = read_ablations(args.ablations) if os.path.exists(args.ablations) else []
    # params and GFLOPs as the latency run measured them (its checkpoint rows included); rebuilt from the exps for
    # runs written before they were stored
    sizes = stored.get("model_sizes") or {exp.exp_name: model_size(exp.get_model()) for exp in exps}
    results = variant_results({name: tuple(size) for name, size in sizes.items()}, run)
    add_evaluations(results, evaluations, ablations)
    header = stored.get("header", "") + (f" mAP from {len(args.evals)} evaluations: {', '.join(args.evals)}."
                                         if args.evals else "")
    print(write_report(list(results.values()), args.output, header, ablations))
    # the latency run the tables rest on, beside them (its machine, rounds and every per-round time)
    atomic_write_text(os.path.join(args.output, "latency.json"), json.dumps(stored, indent=2))


def run_profile(args, exp_files):
    models, _ = timed_models(exp_files, "weights")
    profiles = {name: onnx_time_by_op(model, args.size, runs=args.calls) for name, model in models.items()}
    table = profile_table(profiles)
    atomic_write_text(os.path.join(args.output, "onnx_profile.md"),
                      f"ONNX Runtime profiler, batch 1, {args.size}x{args.size}, mean of {args.calls} runs "
                      f"({time.strftime('%Y-%m-%d %H:%M')}).\n\n{table}\n")
    print(table)


def run_train_speed(args, exp_file):
    if args.fast_path and len(args.fast_path) % 2:
        raise ConfigError(f"--fast-path takes KEY VALUE pairs; got {len(args.fast_path)} words")
    size = 128 if args.quick else args.size
    overrides = ["data_dir", generated_data(args), "input_size", f"({size},{size})", "test_size",
                 f"({size},{size})", "seed", str(args.seed)]
    runs = os.path.join(args.output, "speed_runs")

    def make_exp(extra):
        extra = list(extra)
        if "output_dir" in extra:  # our trainer's rounds go under --output
            extra[extra.index("output_dir") + 1] = os.path.join(runs, extra[extra.index("output_dir") + 1])
        return load_exp(exp_file, overrides + extra, "train_speed")

    result = {**compare_train_speed(make_exp, args.batch_size, args.rounds, args.fast_path or ()),
              "data_dir": args.data_dir}
    for index, row in enumerate(result["rounds"]):
        print(f"train speed round {index + 1}: plain loop {row['plain_img_per_s']:.1f} img/s, ours "
              f"{row['ours_img_per_s']:.1f} img/s ({row['ratio']:.2f}x)"
              + (f", ours with {' '.join(args.fast_path)} {row['fast_img_per_s']:.1f} img/s "
                 f"({row['fast_ratio']:.2f}x ours)" if args.fast_path else ""))
    os.makedirs(args.output, exist_ok=True)
    atomic_write_text(os.path.join(args.output, "train_speed.json"), json.dumps(result, indent=2))


def run_train_profile(args, exp_files):
    protocol = "smoke" if args.quick else args.protocol
    profiles = {}
    for exp_file in exp_files:
        exp = load_exp(exp_file, ["data_dir", generated_data(args), "seed", str(args.seed)], protocol)
        profiles[exp.exp_name] = profile_training_step(exp, args.batch_size, args.iterations)
    table = step_profile_table(profiles, args.batch_size)
    os.makedirs(args.output, exist_ok=True)
    atomic_write_text(os.path.join(args.output, "train_profile.md"),
                      f"Training step by phase ({time.strftime('%Y-%m-%d %H:%M')}, protocol {protocol!r}, batch "
                      f"{args.batch_size}, {args.iterations} iterations after 5 warm-up, data {args.data_dir})."
                      f"\n\n{table}\n")
    print(table)


@exits_cleanly_on_bad_input
def main(argv=None):
    args = make_parser().parse_args(argv)
    if args.command == "report":
        run_report(args)
        return
    exp_files = stock_first(args.exps) if args.exps else default_exps()
    if args.command == "latency":
        run_latency(args, exp_files)
    elif args.command == "profile":
        run_profile(args, exp_files)
    elif args.command == "train-speed":
        run_train_speed(args, exp_files[0])
    else:
        run_train_profile(args, exp_files)


if __name__ == "__main__":
    main()
