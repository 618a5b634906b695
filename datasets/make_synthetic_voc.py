"""Write a small synthetic VOC2007-format set: python datasets/make_synthetic_voc.py DEST [--trainval N --test N]."""
import argparse

from yolox_mods.data.synthetic import make_synthetic_voc

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dest")
    parser.add_argument("--trainval", type=int, default=128)
    parser.add_argument("--test", type=int, default=32)
    parser.add_argument("--size", type=int, default=160, help="image width in pixels")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(make_synthetic_voc(args.dest, args.trainval, args.test, args.size, seed=args.seed))
