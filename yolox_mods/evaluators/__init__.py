"""Evaluation for the YOLOX-nano variants."""
from .bootstrap import Interval, MatchedEvaluation, load_matches, matches_path, paired_bootstrap, save_matches
from .record import EVAL_RECORD_VERSION, RUNTIME_NAMES, EvalRecord, record_evaluation
from .voc_evaluator import Evaluation, VOCEvaluator, format_result
from .voc_map import ClassMatches, VOCResult, class_ap, evaluate_voc, match_class, voc07_ap

__all__ = ["EVAL_RECORD_VERSION", "RUNTIME_NAMES", "ClassMatches", "EvalRecord", "Evaluation", "Interval",
           "MatchedEvaluation", "VOCEvaluator", "VOCResult", "class_ap", "evaluate_voc", "format_result",
           "load_matches", "match_class", "matches_path", "paired_bootstrap", "record_evaluation", "save_matches",
           "voc07_ap"]
