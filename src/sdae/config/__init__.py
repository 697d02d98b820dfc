"""Run settings: for each command one tree of frozen dataclasses, every check made once, when
the tree is made, naming the flag (torch-free: building and checking a config, and
``sdae --help``, never load the engine).

=====================  =================================================================
:mod:`.checks`         every range and cross-field check, the name tables (noises,
                       optimizers, schedules, augmentations), flag-text parsers
:mod:`.training`       the leaves: :class:`AutoencoderTraining`, :class:`Finetuning`
:mod:`.denoising`      :class:`DaeConfig` (``sdae dae``), :class:`RobustConfig`
:mod:`.classification` :class:`SaeConfig`, :class:`BaselineConfig` and its settings,
                       :class:`SemiConfig` and its recipe :class:`SemiTraining`; the
                       paper's pretraining schedules and recipes
:mod:`.flags`          the flag table (:data:`FLAGS`), :func:`from_flags`,
                       :func:`load_config` (also ``config.json`` files of older versions)
:mod:`.tree`           changing a tree by path, reading it back from JSON with types checked
=====================  =================================================================
"""

from sdae.config.classification import BaselineConfig, SaeConfig, SemiConfig, SemiTraining
from sdae.config.denoising import DaeConfig, RobustConfig
from sdae.config.flags import FLAGS, format_config, from_flags, load_config
from sdae.config.training import AutoencoderTraining, Finetuning

__all__ = ["FLAGS", "AutoencoderTraining", "BaselineConfig", "DaeConfig", "Finetuning",
           "RobustConfig", "SaeConfig", "SemiConfig", "SemiTraining", "format_config", "from_flags",
           "load_config"]  # fmt: skip
