"""How much of the paper ``sdae reproduce`` runs: the presets, as data. Torch-free, so that
``sdae reproduce --help`` lists them at once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """How much of the paper to run. ``paper``: the paper's own sizes, learning rates,
    iterations and subsets; ``quick``: the same experiments, smaller and shorter."""

    name: str
    protocol: str
    dae_iterations: int
    pretrain_scale: float
    finetune_iterations: int
    cnn_protocol: str
    cnn_epochs: int
    conv_iterations: int = 1875
    conv_width: int = 32
    ladder_draws: int = 0  # > 0: the method ladder (reproduce.ladder) over this many draws
    semi_iterations: int = 1800
    data: str = "fashion-mnist"  # another source: the ladder only, on its full protocol

    @property
    def fashion(self) -> bool:
        """Whether it runs on Fashion-MNIST, the paper's data, whose numbers it sets beside."""
        return self.data == "fashion-mnist"


PRESETS = {
    # the conv DAE: 10 passes over the 6000 images (the default of `sdae dae` is 20)
    # the CNN: the baseline's own recipe (8 epochs of the deep CNN, 93.5 % on the full protocol)
    "paper": Preset("paper", "paper", 1000, 1.0, 2000, "full", 8, 1875, 32),
    # width 16 denoises as well as 32 after 100 steps on the mini protocol, in half the time
    "quick": Preset("quick", "mini", 150, 0.1, 300, "paper", 1, 100, 16),
    "smoke": Preset("smoke", "mini", 8, 0.01, 20, "mini", 1, 2, 8),  # for tests: seconds
    # the method ladder at the paper's sizes, five label draws
    "beyond": Preset("beyond", "paper", 1000, 1.0, 2000, "full", 8, ladder_draws=5),
    # the ladder on all 60000 training images (the pool) and the 10000 test images
    "beyond-full": Preset("beyond-full", "full", 1000, 1.0, 2000, "full", 8, ladder_draws=5),
    # the same ladder in under 3 minutes
    "beyond-quick": Preset("beyond-quick", "mini", 150, 0.1, 300, "paper", 1, ladder_draws=2,
                           semi_iterations=100),
    "ladder-smoke": Preset("ladder-smoke", "mini", 8, 0.01, 20, "mini", 1, ladder_draws=2,
                           semi_iterations=3),  # for tests
}
