"""ONNX Runtime for both halves: a CPU session, and static INT8 quantization (QDQ) of an ONNX file calibrated on
batches the caller draws (the detector letterboxes VOC images, the classifier resizes photos)."""
import os
import tempfile
from typing import Callable, Iterator, Sequence, Tuple

from .errors import ConfigError

# (activation type, weight type) by name. On CPUs without VNNI, U8S8 products can saturate the 16-bit
# intermediate of AVX2 kernels; ``reduce_range`` (7-bit weights) or U8U8 avoid it (docs/results.md).
TYPE_PAIRS = {"u8s8": ("QUInt8", "QInt8"), "u8u8": ("QUInt8", "QUInt8"), "s8s8": ("QInt8", "QInt8")}
# How activation ranges are read from the calibration batches: MinMax (ONNX Runtime's default) spends the 8 bits
# on the rare extremes; Percentile clips them at the 99.999th percentile; Entropy picks the range that keeps the
# histogram's KL divergence smallest.
CALIBRATIONS = {"minmax": "MinMax", "percentile": "Percentile", "entropy": "Entropy"}


def onnx_session(path: str, threads: int = 0, spinning: bool = True, inter_threads: int = 0):
    """An ONNX Runtime CPU session (``threads``, ``inter_threads`` 0: its defaults). ``spinning=False`` stops its
    idle threads from busy-waiting after each run, which would steal the cores from whatever runs next (another
    session in a side-by-side benchmark)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = inter_threads
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def static_int8(fp32_path: str, batches: Callable[[], Iterator[dict]], types: str = "u8s8",
                per_channel: bool = True, reduce_range: bool = True, calibration: str = "percentile",
                exclude: Sequence[str] = ()) -> Tuple[object, str]:
    """(the ``onnx.ModelProto`` of ONNX Runtime's static QDQ quantization of ``fp32_path``, the calibration method
    used), calibrated on the feeds ``batches()`` yields (``{input name: array}``); ``exclude``: node names left in
    float. A histogram calibration (percentile, entropy) cannot bin a tensor whose values are (almost) constant,
    as in untrained models: the model is then calibrated with minmax, and the method returned says so."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    if types not in TYPE_PAIRS:
        raise ConfigError(f"types must be one of {sorted(TYPE_PAIRS)}, got {types!r}")
    if calibration not in CALIBRATIONS:
        raise ConfigError(f"calibration must be one of {sorted(CALIBRATIONS)}, got {calibration!r}")

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.feeds = batches()

        def get_next(self):
            return next(self.feeds, None)

    activation, weight = (getattr(QuantType, name) for name in TYPE_PAIRS[types])
    with tempfile.TemporaryDirectory() as work:
        raw = os.path.join(work, "int8.onnx")
        for method in dict.fromkeys([calibration, "minmax"]):
            try:
                quantize_static(fp32_path, raw, Reader(), quant_format=QuantFormat.QDQ, per_channel=per_channel,
                                reduce_range=reduce_range, activation_type=activation, weight_type=weight,
                                nodes_to_exclude=list(exclude),
                                calibrate_method=getattr(CalibrationMethod, CALIBRATIONS[method]))
            except ValueError as error:  # numpy's histogram on a tensor whose range has no room for the bins
                if method == "minmax" or "bins" not in str(error):
                    raise
                continue
            used = method if method == calibration else f"minmax ({calibration} could not bin a near-constant tensor)"
            return onnx.load(raw), used
