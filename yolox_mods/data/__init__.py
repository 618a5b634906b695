"""Data loading with errors that name the bad file."""
from .collate import detection_collate
from .loader import GuardedYoloxLoader
from .voc import VOCDataset, VOCRecord, VOCReport, parse_voc_xml, scan_voc

__all__ = ["GuardedYoloxLoader", "VOCDataset", "VOCRecord", "VOCReport", "detection_collate", "parse_voc_xml",
           "scan_voc"]
