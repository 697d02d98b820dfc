"""The engine: networks (:mod:`.models`, :mod:`.convnets`), the corruptions and augmentations
that feed them (:mod:`.noise`, :mod:`.augment`), the training loops (:mod:`.training`,
:mod:`.semi`) and what they share (:mod:`.loop`), and data parallelism (:mod:`.distributed`).
"""
