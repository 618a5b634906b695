"""Data loading with errors that name the bad file."""
from .collate import detection_collate
from .voc import VOCDataset, VOCRecord, VOCReport, parse_voc_xml, scan_voc
from .loader import GuardedYoloxLoader

__all__ = ["GuardedYoloxLoader", "VOCDataset", "VOCRecord", "VOCReport", "detection_collate", "parse_voc_xml",
           "scan_voc"]
