"""The protocols (per-class subset sizes of the training and test splits) and stratified draws.
Paper §V: a stratified subset of 600 images per class of the training split and 60 per class
of the test split (``paper``); ``full`` uses all 60000 / 10000; ``mini`` (100 / 30 per class)
is for previews. Torch-free: configs check label budgets against these sizes.
"""

from __future__ import annotations

import numpy as np

from sdae.errors import SdaeError

# images per class (train, test): the paper's subsets, everything, and a small preview
PROTOCOLS = {"paper": (600, 60), "full": (None, None), "mini": (100, 30)}


def stratified_indices(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """``per_class`` indices of each class ``0 .. labels.max()``, drawn without replacement
    by ``seed``, class by class in order (so the draws of a class do not depend on how many
    classes follow it).

    Returned sorted, so the subset does not depend on the order classes were drawn in.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    chosen = []
    for c in range(int(labels.max()) + 1 if labels.size else 0):
        members = np.flatnonzero(labels == c)
        if per_class > len(members):
            raise SdaeError(
                f"asked for {per_class} images of class {c} but only {len(members)} exist; "
                "ask for fewer"
            )
        chosen.append(rng.choice(members, size=per_class, replace=False))
    return np.sort(np.concatenate(chosen))
