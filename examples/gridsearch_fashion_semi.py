"""Grid search over one setting of :class:`sdae.sklearn.SemiSupervisedClassifier` on a
Fashion-MNIST subset with few labels: 2000 training images (200 per class), 10 of each class
labelled, the rest marked unlabelled (-1).

``GridSearchCV`` picks ``graph_per_class`` (0: plain FixMatch; 50: label spreading labels
the 50 pool images per class it is surest of first) by 3-fold cross-validation, each fold
scored on its labelled rows only (the estimator's ``score``); the best is then scored once on
1000 Fashion-MNIST test images it never saw.

    python examples/gridsearch_fashion_semi.py [--iterations N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from sdae.data.fashion_mnist import load_fashion_mnist
from sdae.data.protocols import stratified_indices
from sdae.sklearn import SemiSupervisedClassifier


def few_labels(images, labels, per_class: int, labelled: int, seed: int = 0):
    """``per_class`` images of each class ``[n, 28, 28]`` in [0, 1], their labels with all but
    ``labelled`` per class set to -1."""
    idx = stratified_indices(labels, per_class, seed)
    X, y = images[idx].astype(np.float32) / 255.0, labels[idx].astype(np.int64)
    y_semi = np.full_like(y, -1)
    keep = stratified_indices(y, labelled, seed)
    y_semi[keep] = y[keep]
    return X, y_semi


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=400, help="FixMatch steps per fit")
    args = parser.parse_args()

    data = load_fashion_mnist()
    X, y = few_labels(data.train_images, data.train_labels, 200, 10)
    test = stratified_indices(data.test_labels, 100, 0)
    X_test, y_test = data.test_images[test] / 255.0, data.test_labels[test]

    base = SemiSupervisedClassifier(iterations=args.iterations, graph_pretrain_iterations=300,
                                    random_state=0)  # fmt: skip
    search = GridSearchCV(base, {"graph_per_class": [0, 50]},
                          cv=StratifiedKFold(3, shuffle=True, random_state=0))  # fmt: skip
    start = time.perf_counter()
    search.fit(X, y)
    test_score = search.score(X_test, y_test)
    seconds = time.perf_counter() - start

    for params, mean, std in zip(search.cv_results_["params"],
                                 search.cv_results_["mean_test_score"],
                                 search.cv_results_["std_test_score"]):  # fmt: skip
        print(f"graph_per_class={params['graph_per_class']:>3}: cross-validated accuracy "
              f"{mean:.3f} ± {std:.3f} (labelled rows of each fold)")
    print(f"best: {search.best_params_}; test accuracy {test_score:.3f} on {len(test)} test "
          f"images; {seconds:.0f} s in all")


if __name__ == "__main__":
    main()
