"""The paper's experiments as data: what ``sdae reproduce`` runs and what its report reads.

An :class:`Experiment` is one DAE training (Figs 5-11; the paper's MLP, and sdae's conv
DAE beside it), one stack's pretraining (Tables I, IV, VII, Fig. 12), one fine-tuning (a row
of Tables II-IX, or the ten-label run of §VI.B), one baseline of Table X, or the
denoise-then-classify experiment (:mod:`sdae.reproduce.robustness`), for one seed. Its fields say
what it is; its :attr:`name`, the folder it is written to, is made here and nowhere
else, and never parsed: the report finds experiments by their fields (:func:`select`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sdae.reproduce.paper import paper_table

ARCHS = {1: "784-500-200-100", 2: "784-300-100", 3: "784-100"}


PRETRAIN_TABLE = {1: "I", 2: "IV", 3: "VII"}


FINETUNE_TABLES = {(1, 1): "II", (1, 5): "III", (2, 1): "V", (2, 5): "VI", (3, 1): "VIII",
                   (3, 5): "IX"}  # fmt: skip


# DAE: train noise -> test noises; experiments 3 and 4 share one network (paper Fig. 9).
DAE_RUNS = {0.1: (0.1,), 0.3: (0.5, 0.3), 0.5: (0.3, 0.5)}


FRESH = "salt-and-pepper-fresh"


KNN_LABELS = 5  # 1-NN with 5 labels per class is the setting that lands near Table X's 55.4 %


TEN_LABELS = {"arch": 3, "labels": 10, "lr_top": 0.5, "lr_body": 0.001}  # §VI.B


# denoise-then-classify: the DAEs it uses are the ones trained at this noise (one-draw)
ROBUST_DAE_NOISE = 0.3


@dataclass(frozen=True)
class Experiment:
    """One experiment for one seed. ``kind``: dae | pretrain | finetune | knn | cnn | robust,
    and for the method ladder (:mod:`sdae.reproduce.ladder`) mlp | logreg | semi; ``arch``: 1-3
    (:data:`ARCHS`); ``labels``: labelled images per class, None = all; ``model``: a DAE's
    network, ``mlp`` (the paper's) or ``conv``; ``draw``: the label draw (``labels_seed``),
    None = the seed itself (the paper preset)."""

    kind: str
    seed: int
    train_noise: float | None = None
    tests: tuple[float, ...] = ()
    noise: str = "salt-and-pepper"
    arch: int | None = None
    labels: int | None = None
    lr_top: float | None = None
    lr_body: float | None = None
    table: str | None = None
    model: str = "mlp"
    draw: int | None = None

    @property
    def labels_seed(self) -> int:
        """Which labelled images it draws: its ``draw``, else its seed."""
        return self.seed if self.draw is None else self.draw

    @property
    def name(self) -> str:
        """The experiment's folder name: the one place names are made."""
        seed = f"seed{self.seed}" + ("" if self.draw is None else f"-draw{self.draw}")
        if self.kind == "dae":
            fresh = "fresh-" if self.noise == FRESH else ""
            conv = "conv-" if self.model == "conv" else ""
            return f"dae-{conv}{fresh}train{self.train_noise}-{seed}"
        if self.kind == "pretrain":
            return f"pretrain-arch{self.arch}-{seed}"
        if self.kind == "finetune":
            return (f"finetune-arch{self.arch}-l{self.labels}-top{self.lr_top}-"
                    f"body{self.lr_body}-{seed}")  # fmt: skip
        if self.kind in ("knn", "mlp", "logreg", "semi"):
            return f"{self.kind}-l{self.labels}-{seed}"
        if self.kind == "robust":
            return f"denoise-classify-{seed}"
        return f"cnn-{seed}"

    @property
    def needs(self) -> tuple[Experiment, ...]:
        """The experiments whose folders this one reads: a fine-tuning's pretrained stack;
        denoise-then-classify's classifiers and DAEs (:func:`robust_inputs`)."""
        if self.kind == "finetune":
            return (Experiment("pretrain", self.seed, arch=self.arch,
                               table=PRETRAIN_TABLE[self.arch]),)  # fmt: skip
        if self.kind == "robust":
            return tuple(robust_inputs(self.seed).values())
        return ()

    def params(self) -> dict[str, Any]:
        """The fields that say what it is, as ``results.json``'s ``params`` (as before the
        fields existed: ``arch`` the sizes, a CNN's ``labels`` "all")."""
        p = {k: v for k, v in asdict(self).items()
             if k not in ("kind", "seed") and v not in (None, ())}  # fmt: skip
        if self.kind != "dae":
            p.pop("noise")
        if self.model == "mlp":  # as before the conv DAE existed
            p.pop("model")
        if self.arch is not None:
            p["arch"] = ARCHS[self.arch]
        if self.kind == "cnn":
            p["labels"] = "all"
        return p


def _finetunes(k: int, seed: int) -> list[Experiment]:
    out = []
    for labels in (1, 5):
        table = FINETUNE_TABLES[(k, labels)]
        for row in paper_table(table)["rows"]:
            out.append(Experiment("finetune", seed, arch=k, labels=labels, lr_top=row["lr_top"],
                                  lr_body=row["lr_body"], table=table))  # fmt: skip
    return out


def _daes(seed: int, model: str) -> list[Experiment]:
    runs = [Experiment("dae", seed, train_noise=p, tests=t, model=model)
            for p, t in DAE_RUNS.items()]  # fmt: skip
    return [*runs, Experiment("dae", seed, train_noise=0.5, tests=(0.3, 0.5), noise=FRESH,
                              model=model)]  # fmt: skip


def robust_inputs(seed: int) -> dict[str, Experiment]:
    """What denoise-then-classify reads: the CNN baseline and the 784-100 stack fine-tuned
    on ten labels per class (§VI.B), both trained on clean images, and the MLP and conv
    DAEs trained at :data:`ROBUST_DAE_NOISE`."""
    tests = DAE_RUNS[ROBUST_DAE_NOISE]
    return {
        "cnn": Experiment("cnn", seed),
        "sae": Experiment("finetune", seed, **TEN_LABELS, table="10"),
        "mlp": Experiment("dae", seed, train_noise=ROBUST_DAE_NOISE, tests=tests),
        "conv": Experiment("dae", seed, train_noise=ROBUST_DAE_NOISE, tests=tests, model="conv"),
    }


def plan(seeds: int) -> list[Experiment]:
    """Every experiment of the paper for seeds ``0 .. seeds-1``, each after what it needs."""
    out: list[Experiment] = []
    for s in range(seeds):
        out += _daes(s, "mlp") + _daes(s, "conv")
        for k in ARCHS:
            out.append(Experiment("pretrain", s, arch=k, table=PRETRAIN_TABLE[k]))
            out += _finetunes(k, s)
        out.append(Experiment("finetune", s, **TEN_LABELS, table="10"))
        out.append(Experiment("knn", s, labels=KNN_LABELS))
        out.append(Experiment("cnn", s))
        out.append(Experiment("robust", s))
    return out


@dataclass(frozen=True)
class ExperimentResult:
    """A finished experiment: what it was, the run config it ran with (typed), its metrics
    (the keys of the matching command's ``metrics.json``)."""

    experiment: Experiment
    config: Any
    metrics: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        """Its entry of ``results.json`` (and its ``result.json``)."""
        e = self.experiment
        return {"name": e.name, "kind": e.kind, "seed": e.seed, "params": e.params(),
                "config": self.config, "metrics": self.metrics}  # fmt: skip


def select(results: list[ExperimentResult], **fields) -> list[ExperimentResult]:
    """The results whose experiment has these field values (every seed), in seed order."""
    found = [r for r in results
             if all(getattr(r.experiment, k) == v for k, v in fields.items())]  # fmt: skip
    return sorted(found, key=lambda r: r.experiment.seed)
