"""``tools/export_onnx.py -f exps/<exp>.py -c ckpt`` (or ``-n <exp>``): ONNX model checked against PyTorch on a
random image."""
import argparse

import numpy as np
import torch

from ..common import DataError, exits_cleanly_on_bad_input
from ..common.onnx import onnx_session
from ..evaluation import load_weights
from ..exp_files import chosen_exp_file, load_exp
from ..export import export_onnx
from .common import checkpoint_for


def make_parser():
    parser = argparse.ArgumentParser(description="Export a yolox-lite exp to ONNX")
    parser.add_argument("-f", "--exp_file", default=None)
    parser.add_argument("-n", "--name", default=None, help="exp name in exps/ (instead of -f)")
    parser.add_argument("-c", "--ckpt", default=None,
                        help="checkpoint (default: the run's latest_ckpt.pth under output_dir/<exp>/)")
    parser.add_argument("--random-weights", action="store_true",
                        help="export untrained weights on purpose (latency needs no training)")
    parser.add_argument("--rtol", type=float, default=1e-3,
                        help="fail unless |onnx - torch| <= atol + rtol * |torch| for every output")
    parser.add_argument("--atol", type=float, default=1e-4)
    parser.add_argument("--output-name", default=None, help="default: <exp>.onnx")
    parser.add_argument("--tsize", type=int, default=None, help="square input size (default: exp.test_size)")
    parser.add_argument("--opset", type=int, default=13)
    parser.add_argument("--decode_in_inference", action="store_true")
    parser.add_argument("--keep-mixconv", action="store_true",
                        help="export MixConv as split/convs/concat/BN instead of one merged depthwise conv")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="exp overrides: key value ...")
    return parser


@exits_cleanly_on_bad_input
def main(argv=None):
    args = make_parser().parse_args(argv)
    exp = load_exp(chosen_exp_file(args.exp_file, args.name), args.opts)
    model = exp.get_model().eval()
    ckpt = checkpoint_for(exp, args.ckpt, args.random_weights)
    if ckpt:
        load_weights(exp, model, ckpt)
    size = (args.tsize, args.tsize) if args.tsize else tuple(exp.test_size)
    path = args.output_name or f"{exp.exp_name}.onnx"
    export_onnx(model, path, size, args.opset, args.decode_in_inference, merge_mixconv=not args.keep_mixconv)
    image = torch.randn(1, 3, *size)
    with torch.no_grad():
        expected = model(image).numpy()
    got = onnx_session(path).run(None, {"images": image.numpy()})[0]
    difference = np.abs(got - expected)
    worst = float((difference - args.rtol * np.abs(expected)).max())
    if worst > args.atol:
        raise DataError(f"{path}: ONNX Runtime differs from PyTorch by up to {difference.max():.2e} (beyond "
                        f"atol {args.atol} + rtol {args.rtol} x |torch|); the export is not faithful")
    print(f"wrote {path} ({'weights ' + ckpt if ckpt else 'untrained weights'}); max |onnxruntime - torch| = "
          f"{difference.max():.2e}, within atol {args.atol} + rtol {args.rtol} x |torch|")


if __name__ == "__main__":
    main()
