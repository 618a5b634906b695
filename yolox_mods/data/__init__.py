"""Data loading with errors that name the bad file."""
from .collate import detection_collate
from .errors import CheckpointError, DataError
from .images import read_image
from .voc import VOCDataset, VOCRecord, VOCReport, parse_voc_xml, scan_voc

__all__ = ["CheckpointError", "DataError", "VOCDataset", "VOCRecord", "VOCReport", "detection_collate",
           "parse_voc_xml", "read_image", "scan_voc"]
