"""Start one or more training processes: YOLOX's launcher on CUDA, a gloo launcher on CPU."""
import os
from datetime import timedelta
from typing import Callable, Optional, Tuple

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from yolox.core import launch as yolox_launch
from yolox.core.launch import _find_free_port
from yolox.utils import dist as yolox_dist

from ..common.errors import ConfigError


def resolve_device(device: str) -> str:
    """"auto" is CUDA when available, else CPU; asking for CUDA without it is an error."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but no CUDA device is available")
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"--device must be auto, cpu or cuda, got {device!r}")
    return device


def launch(main_func: Callable, num_processes: int, device: str, num_machines: int = 1, machine_rank: int = 0,
           backend: Optional[str] = None, dist_url: Optional[str] = None, args: Tuple = ()) -> None:
    """``main_func(*args)`` in ``num_processes`` processes per machine (one per GPU on CUDA)."""
    if device == "cuda":
        yolox_launch(main_func, num_processes, num_machines, machine_rank, backend or "nccl",
                     dist_url or "auto", args)
        return
    world_size = num_machines * num_processes
    if world_size == 1:
        main_func(*args)
        return
    if dist_url in (None, "auto"):
        if num_machines != 1:
            raise ConfigError("multi-machine CPU training needs an explicit --dist-url")
        dist_url = f"tcp://127.0.0.1:{_find_free_port()}"
    mp.start_processes(_cpu_worker, nprocs=num_processes, start_method="spawn",
                       args=(main_func, world_size, num_processes, machine_rank, backend or "gloo", dist_url, args))


def _cpu_worker(local_rank, main_func, world_size, num_processes, machine_rank, backend, dist_url, args):
    rank = machine_rank * num_processes + local_rank
    # share the cores instead of every process spinning one thread per core
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // num_processes))
    dist.init_process_group(backend, init_method=dist_url, world_size=world_size, rank=rank,
                            timeout=timedelta(minutes=30))
    num_machines = world_size // num_processes
    for machine in range(num_machines):
        group = dist.new_group(list(range(machine * num_processes, (machine + 1) * num_processes)))
        if machine == machine_rank:
            yolox_dist._LOCAL_PROCESS_GROUP = group
    yolox_dist.synchronize()
    try:
        main_func(*args)
    finally:
        dist.destroy_process_group()
