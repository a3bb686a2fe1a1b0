"""Train the embedded default model (QAT on sklearn's real 8x8 digits) and export it to QONNX.

    python -m accelgen.models.train_digits [--out DIR]

Reproducible: fixed split, fixed seeds, single-threaded torch. Writes ``vit_digits.onnx``, the test split
``digits_test.npz`` (float32 NCHW images exactly as fed to the model, int64 labels) and ``meta.json``
(configuration and the measured test accuracy of the Brevitas model).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from brevitas.graph.calibrate import calibration_mode
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from ..frontend.brevitas_export import export_to_qonnx
from ..resources import default_model_dir
from .presets import preset_config
from .vit import QuantViT, ViTConfig, init_weights

SEED = 0
MODEL_FILE = "vit_digits.onnx"
WEIGHTS_FILE = "vit_digits.pt"
DATA_FILE = "digits_test.npz"
META_FILE = "meta.json"


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Images scaled to [-1, 1] as float32 (N, 1, 8, 8); 80/20 stratified split with a fixed seed."""
    digits = load_digits()
    x = (digits.images.astype(np.float32) / 8.0 - 1.0)[:, None]
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=SEED, stratify=y)
    return x_tr, y_tr, x_te, y_te


def accuracy(model: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x)).argmax(dim=1).numpy()
    return float((pred == y).mean())


def train(make_model, epochs: int, seed: int = SEED, lr: float = 2e-3) -> tuple:
    """QAT from scratch of ``make_model()``; returns (model, train accuracy, test accuracy, test split)."""
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    x_tr, y_tr, x_te, y_te = digits_split()
    model = make_model()
    with torch.no_grad(), calibration_mode(model):
        model(torch.from_numpy(x_tr[:256]))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    steps_per_epoch = (len(x_tr) + 63) // 64
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch)
    gen = torch.Generator().manual_seed(seed)
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), 64):
            idx = order[i:i + 64]
            loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    return model, accuracy(model, x_tr, y_tr), accuracy(model, x_te, y_te), (x_te, y_te)


def _seeded_vit(cfg: ViTConfig) -> QuantViT:
    model = QuantViT(cfg)
    init_weights(model, SEED)
    return model


def load_trained(folder: Path = default_model_dir()) -> QuantViT:
    """The trained Brevitas module of the default model (its state dict ships next to the QONNX file)."""
    model = QuantViT(preset_config("digits"))
    model.load_state_dict(torch.load(folder / WEIGHTS_FILE, weights_only=True))
    return model.eval()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=default_model_dir(), help="output folder")
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args(argv)
    cfg = preset_config("digits")
    start = time.perf_counter()
    model, train_acc, test_acc, (x_te, y_te) = train(lambda: _seeded_vit(cfg), args.epochs)
    args.out.mkdir(parents=True, exist_ok=True)
    export_to_qonnx(model, (cfg.in_chans, cfg.img_size, cfg.img_size), args.out / MODEL_FILE)
    torch.save(model.state_dict(), args.out / WEIGHTS_FILE)
    np.savez_compressed(args.out / DATA_FILE, images=x_te, labels=y_te)
    meta = {"name": "vit_digits", "config": asdict(cfg), "epochs": args.epochs, "seed": SEED,
            "dataset": "sklearn.datasets.load_digits, 80/20 stratified split, random_state=0",
            "train_accuracy": round(train_acc, 4), "test_accuracy": round(test_acc, 4),
            "test_images": int(len(y_te)), "command": "python -m accelgen.models.train_digits"}
    (args.out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    print(f"trained in {time.perf_counter() - start:.0f} s: train {train_acc:.4f}, test {test_acc:.4f}")


if __name__ == "__main__":
    main()
