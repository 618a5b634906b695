"""Evaluation for the YOLOX-nano variants."""
from .voc_evaluator import VOCEvaluator, format_result
from .voc_map import VOCResult, class_ap, evaluate_voc, voc07_ap

__all__ = ["VOCEvaluator", "VOCResult", "class_ap", "evaluate_voc", "format_result", "voc07_ap"]
