"""Data loading with errors that name the bad file."""
from .collate import detection_collate
from .errors import CheckpointError, DataError, WriteError
from .images import read_image
from .voc import VOCDataset, VOCRecord, VOCReport, parse_voc_xml, scan_voc
from .worker_guard import GuardedDataLoader, GuardedLoaderMixin, GuardedYoloxLoader, SampleTracker

__all__ = ["CheckpointError", "DataError", "GuardedDataLoader", "GuardedLoaderMixin", "GuardedYoloxLoader",
           "SampleTracker", "VOCDataset", "VOCRecord", "VOCReport", "WriteError", "detection_collate",
           "parse_voc_xml", "read_image", "scan_voc"]
