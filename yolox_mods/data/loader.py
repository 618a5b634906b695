"""YOLOX's training loader with loader-worker failures named (``common.worker_guard``)."""
from yolox.data import DataLoader as YoloxDataLoader

from ..common.worker_guard import GuardedLoaderMixin


class GuardedYoloxLoader(GuardedLoaderMixin, YoloxDataLoader):
    """YOLOX's loader (``close_mosaic``) with worker failures named (see ``GuardedLoaderMixin``)."""
