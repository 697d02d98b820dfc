"""Grid search over the hidden units of a denoising autoencoder, on a data set that is not
Fashion-MNIST: scikit-learn's 8x8 digits (64 features, values 0..16).

The pipeline scales the features into [0, 1] (the DAE's cross-entropy cost needs them
there), learns codes with :class:`sdae.sklearn.DenoisingAutoencoder` and classifies the codes
with a logistic regression; ``GridSearchCV`` picks ``hidden`` by 3-fold cross-validation on
the training part, and the best pipeline is scored once on the held-out part.

    python examples/gridsearch_digits.py [--jobs N]
"""

from __future__ import annotations

import argparse
import time

import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler
from threadpoolctl import threadpool_limits

from sdae.sklearn.autoencoder import DenoisingAutoencoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1, help="fits run in parallel (processes)")
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                        random_state=0)  # fmt: skip
    pipe = Pipeline([
        ("scale", MinMaxScaler(clip=True)),  # into [0, 1], also for rows unseen in fit
        ("dae", DenoisingAutoencoder(iterations=300, random_state=0)),
        ("logreg", LogisticRegression(max_iter=2000)),
    ])  # fmt: skip
    search = GridSearchCV(pipe, {"dae__hidden": [8, 16, 32, 64, 128]}, cv=3, n_jobs=args.jobs)

    start = time.perf_counter()
    # Matrices this small run fastest on one thread per fit (torch's and BLAS's); spread
    # the fits over processes with --jobs instead.
    torch.set_num_threads(1)
    with threadpool_limits(1):
        search.fit(X_train, y_train)
        test_score = search.score(X_test, y_test)
    seconds = time.perf_counter() - start

    for hidden, mean, std in zip(search.cv_results_["param_dae__hidden"],
                                 search.cv_results_["mean_test_score"],
                                 search.cv_results_["std_test_score"]):  # fmt: skip
        print(f"hidden={hidden:4d}  cv accuracy {mean:.3f} +- {std:.3f}")
    print(f"best params: {search.best_params_}")
    print(f"best cv accuracy: {search.best_score_:.3f}")
    print(f"held-out accuracy of the best pipeline: {test_score:.3f} "
          f"({len(X_test)} digits, chance 0.1)")  # fmt: skip
    print(f"time: {seconds:.1f} s")


if __name__ == "__main__":
    main()
