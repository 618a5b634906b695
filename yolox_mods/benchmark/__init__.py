"""Measuring exps side by side, one concern per module: ``latency`` (size, PyTorch and ONNX Runtime ms),
``onnx_profile`` (ONNX Runtime time by node kind), ``train_speed`` (the plain-loop baseline), ``step_profile``
(a training step by phase) and ``report`` (mAP over seeds, the variant table and plot)."""
from .latency import RUNTIMES, measure_variants, model_size, untie_constants, variant_results
from .onnx_profile import onnx_time_by_op, profile_table
from .report import (
    Ablation,
    ScoredRun,
    VariantResult,
    ablation_table,
    add_evaluations,
    combine_runs,
    format_map,
    plot_pareto,
    read_ablations,
    read_evaluations,
    write_report,
)
from .step_profile import PHASES, profile_training_step, step_profile_table
from .train_speed import compare_train_speed, plain_loop_img_per_s

__all__ = ["Ablation", "PHASES", "RUNTIMES", "ScoredRun", "VariantResult", "ablation_table", "add_evaluations",
           "combine_runs", "compare_train_speed", "format_map", "measure_variants", "model_size", "onnx_time_by_op",
           "plain_loop_img_per_s", "plot_pareto", "profile_table", "profile_training_step", "read_ablations",
           "read_evaluations", "step_profile_table", "untie_constants", "variant_results", "write_report"]
