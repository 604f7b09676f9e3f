"""The MNIST row: each contender trains epoch by epoch from the same initial weights in file order;
the parent measures test accuracy after each epoch (outside the clock) until 97 %."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness import start
from workloads import MNIST, accuracy, parameters, read

CONTENDERS = ("chainrule_api", "chainrule_cli", "torch_eager", "jax_scan")
TARGET = 0.97


def run_mnist(npz: Path, threads: int, tmp: Path, max_epochs: int, names: list[str]) -> list[dict[str, Any]]:
    """Per contender: seconds of each epoch (for chainrule_cli: the wall time of a whole process
    that trains that many epochs), test accuracy after each, and when 97 % was reached."""
    arrays = read(npz)
    x_test, labels = arrays["x_test"], arrays["labels_test"]
    del arrays
    out = []
    for name in [c for c in CONTENDERS if c in names]:
        row, child = start(MNIST, npz, name, threads, tmp, {"epochs_mode": True})
        result: dict[str, Any] = {"contender": name, "threads": threads, "info": row.info, "check": row.check}
        result |= {"error": row.error, "seconds": [], "accuracy": []}
        while child is not None and len(result["accuracy"]) < max_epochs:
            got = child.ask({"cmd": "epoch"})
            if "error" in got:
                result["error"] = got["error"]
                break
            result["seconds"].append(got.get("wall", got["seconds"]))
            result["accuracy"].append(accuracy(parameters(read(got["params"])), x_test, labels))
            print(f"  mnist {name}: epoch {len(result['seconds'])} {result['seconds'][-1]:.2f} s, "
                  f"test accuracy {result['accuracy'][-1]:.4f}", flush=True)  # fmt: skip
            if result["accuracy"][-1] >= TARGET and len(result["seconds"]) >= 2:
                break
        if child is not None:
            child.close()
        out.append(summarise(result))
    return out


def summarise(r: dict[str, Any]) -> dict[str, Any]:
    """Seconds per epoch and the time to 97 %: for the command line from whole-process times
    ((T(E) − T(1)) / (E − 1), and T(E) itself, start-up included); else the epochs' own times."""
    secs, acc = r["seconds"], r["accuracy"]
    reached = next((i for i, a in enumerate(acc) if a >= TARGET), None)
    if r["contender"] == "chainrule_cli":
        r["per_epoch"] = (secs[-1] - secs[0]) / (len(secs) - 1) if len(secs) > 1 else None
        r["to_target"] = secs[reached] if reached is not None else None
    else:
        r["per_epoch"] = sum(secs) / len(secs) if secs else None
        r["to_target"] = sum(secs[: reached + 1]) if reached is not None else None
    r["epoch_reached"] = None if reached is None else reached + 1
    return r
