"""scikit-learn estimators over sdae's training loops (see :mod:`sdae.sklearn.autoencoder`,
:mod:`sdae.sklearn.classifier` and :mod:`sdae.sklearn.semi`; the input and parameter checks
they share are in :mod:`sdae.sklearn.checks`).

::

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler
    from sklearn.linear_model import LogisticRegression
    from sdae.sklearn import DenoisingAutoencoder, StackedAutoencoderClassifier

    pipe = make_pipeline(MinMaxScaler(clip=True), DenoisingAutoencoder(hidden=64),
                         LogisticRegression(max_iter=1000))
    pipe.fit(X_train, y_train).score(X_test, y_test)

    # y == -1 marks unlabelled rows: pretraining sees every row, fine-tuning the labelled ones
    clf = StackedAutoencoderClassifier(hidden_sizes=(100,), random_state=0).fit(X, y)

    # sdae semi on images [n, 28, 28] (or rows with image_shape); score skips -1 rows
    clf = SemiSupervisedClassifier(random_state=0).fit(images, y)
"""

from sdae.sklearn.autoencoder import DenoisingAutoencoder
from sdae.sklearn.classifier import StackedAutoencoderClassifier
from sdae.sklearn.semi import SemiSupervisedClassifier

__all__ = ["DenoisingAutoencoder", "SemiSupervisedClassifier", "StackedAutoencoderClassifier"]
