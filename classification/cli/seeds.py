"""``python -m classification.seeds RUN [RUN ...] --output DIR``: one compression recipe run with several seeds,
summarised per stage (``classification.studies.seeds``)."""
import argparse
import json
import os

from yolox_mods.common import ConfigError, atomic_write_text, exits_cleanly_on_bad_input

from ..studies.seeds import add_latency, load_runs, only_stages, plot_summary, reference_entry, summarise, summary_table


def make_parser():
    parser = argparse.ArgumentParser(prog="python -m classification.seeds",
                                     description=__doc__.split(": ", 1)[1].split(" (``")[0])
    parser.add_argument("runs", nargs="+", help="output folders of classification.compress, one per seed")
    parser.add_argument("--output", required=True, help="where seeds.{md,json,png} go")
    parser.add_argument("--reference", default="baseline_same_budget",
                        help="stage every other stage's test F1 is compared with ('' for none)")
    parser.add_argument("--latency-runs", type=int, default=50, help="batch-1 passes timed per model (0: none)")
    parser.add_argument("--stages", nargs="+", default=None,
                        help="summarise only these stages, in this order (default: every stage of the runs)")
    return parser


@exits_cleanly_on_bad_input
def main(argv=None) -> None:
    args = make_parser().parse_args(argv)
    summary = only_stages(summarise(args.runs, load_runs(args.runs)), args.stages)
    reference = args.reference or None
    if reference and args.stages and reference not in args.stages:
        raise ConfigError(f"--reference {reference} is not among --stages (add it, or --reference '')")
    reference_entry(summary, reference)
    latency = add_latency(summary, args.latency_runs, reference) if args.latency_runs else None
    table = summary_table(summary, reference)
    os.makedirs(args.output, exist_ok=True)
    stem = os.path.join(args.output, "seeds")
    atomic_write_text(stem + ".json", json.dumps(summary, indent=2))
    measured = f"Latency: {latency.describe()}.\n\n" if latency else ""
    atomic_write_text(stem + ".md", f"{len(args.runs)} runs: {', '.join(args.runs)}\n\n{measured}{table}")
    plot_summary(summary, stem + ".png")
    print(table)


if __name__ == "__main__":
    main()
