"""Dataset registry types: :class:`LabelledData`, the dataset names and their shapes."""

from dataclasses import dataclass

import numpy as np

from ...errors import input_error

__all__ = ["LabelledData", "DATASET_NAMES", "IMAGE_SHAPES", "dataset_shape"]

#: Dataset names understood by :func:`load_dataset`.
DATASET_NAMES = ("mnist", "yinyang", "digits", "locust", "spoken_digits")

_SHAPES = {"mnist": (784, 10), "yinyang": (5, 3), "digits": (64, 10), "locust": (30, 10), "spoken_digits": (128, 20)}

#: ``(height, width)`` of the image datasets (features are row-major flattened pixels).
IMAGE_SHAPES = {"mnist": (28, 28), "digits": (8, 8)}


@dataclass(frozen=True)
class LabelledData:
    """Features and labels of one dataset split.

    Attributes
    ----------
    x : numpy.ndarray
        float64, shape ``(n_samples, n_features)``, values in [0, 1].
    y : numpy.ndarray
        int64, shape ``(n_samples,)``, values in ``0 .. n_classes - 1``.
    n_classes : int
        Number of classes.
    name : str
        Dataset name (``"mnist"``, ``"yinyang"``, ``"digits"``).
    split : str
        ``"train"``, ``"test"``, ``"val"`` or ``"all"``.
    class_names : tuple of str
        One name per class.
    """

    x: np.ndarray
    y: np.ndarray
    n_classes: int
    name: str
    split: str
    class_names: tuple

    def __len__(self):
        return int(self.y.shape[0])

    @property
    def n_features(self):
        """Number of features (input units)."""
        return int(self.x.shape[1])

    def subset(self, index, split=None):
        """Return the samples at ``index`` (int array or slice) as a new :class:`LabelledData`."""
        return LabelledData(self.x[index], self.y[index], self.n_classes, self.name,
                            self.split if split is None else split, self.class_names)

    def class_counts(self):
        """Number of samples per class, shape ``(n_classes,)``."""
        return np.bincount(self.y, minlength=self.n_classes)


def dataset_shape(name):
    """Return ``(n_features, n_classes)`` of dataset ``name`` without loading it."""
    if name not in _SHAPES:
        raise input_error("dataset", f"one of {list(DATASET_NAMES)}", repr(name))
    return _SHAPES[name]
