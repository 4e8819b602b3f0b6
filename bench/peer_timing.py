"""The timing loop every Python peer of the benchmark shares: end to end over image files, then the tower alone."""
from __future__ import annotations

import json
import resource
import time
from typing import Callable

import numpy as np

from clip_agiqa_export.preprocess import normalise, preprocess_file


def pixels(paths: list[str]) -> np.ndarray:
    """CLIP's PIL recipe: decode, bicubic short-side resize, centre crop, normalise."""
    return normalise(np.stack([preprocess_file(p, 224) for p in paths]))


def time_peer(score: Callable[[list[str]], object], tower: Callable[[np.ndarray], object], batch: int, tower_images: int,
              images: list[str], **extra) -> None:
    """Prints one JSON object: end-to-end and tower-alone images/s, peak RSS, and the scores of the timed run."""
    score(images[:batch])  # warm-up
    scores: list[float] = []
    started = time.perf_counter()
    for i in range(0, len(images), batch):
        scores.extend(float(s) for s in np.asarray(score(images[i:i + batch])).reshape(-1))
    e2e = len(images) / (time.perf_counter() - started)
    x = np.random.default_rng(0).standard_normal((batch, 3, 224, 224), dtype=np.float32)
    runs = max(1, tower_images // batch)
    started = time.perf_counter()
    for _ in range(runs):
        tower(x)
    alone = runs * batch / (time.perf_counter() - started)
    print(json.dumps({"e2e_images_per_s": e2e, "tower_images_per_s": alone,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "scores": scores, **extra}))
