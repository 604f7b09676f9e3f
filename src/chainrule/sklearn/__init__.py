"""scikit-learn estimators over chainrule networks: `NetworkClassifier` and `NetworkRegressor`.

    from chainrule.sklearn import NetworkClassifier
    clf = NetworkClassifier(hidden=(8,), epochs=200).fit(X, y)
    clf.predict(X); clf.predict_proba(X); clf.score(X, y)
    clf.explain_step(X[:1], y[:1]).values["dL/dw1"]     # one update of the fitted network, explained

A fitted estimator holds `network_` (a chainrule Network: save it, explain it, export it). The
classifier's output is one sigmoid with binary cross-entropy for two classes, a softmax with
cross-entropy for more; the regressor's is identity with mean squared error, trained on the target
standardised (y' = (y − mean) / std, undone by predict). Training is chainrule's own loop
(`train.trainer.Trainer`), so the numbers are the engine's. `partial_fit` is one epoch over the
data it is given, the optimizer's state (momentum, Adam's moments) carried from call to call.

Conventions: the parameters are checked when `fit` starts, and a bad one raises
`EstimatorParameterError` (a ValueError) naming the parameter; `verbose=1` prints each epoch's
loss; `loss_curve_` holds each epoch's training loss (the mean over the epoch's updates, as
scikit-learn's MLP keeps it; across `partial_fit` calls too); `sample_weight` takes whole numbers
≥ 0, each example then counting as that many copies of itself (the rows repeated in place), which
is what a weight means for chainrule's unweighted losses.

Needs scikit-learn (the `data` extra); it is imported by this module only.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d, validate_data
except ImportError as exc:
    raise ImportError(
        "chainrule.sklearn needs scikit-learn: install it with pip install 'chainrule[data]' (or scikit-learn)"
    ) from exc

from chainrule.engine.functions import ACTIVATIONS
from chainrule.engine.network import Network
from chainrule.engine.optimizers import OPTIMIZERS
from chainrule.errors import ChainruleError
from chainrule.io.netfile import from_dict, to_dict
from chainrule.record.step import StepRecord, explain_step
from chainrule.train.config import TrainConfig
from chainrule.train.trainer import Trainer

__all__ = ["EstimatorParameterError", "NetworkClassifier", "NetworkRegressor"]

Array = np.ndarray


class EstimatorParameterError(ValueError):
    """A parameter or an input an estimator cannot take (a ValueError, as scikit-learn expects)."""


def _whole(value: Any, least: int) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and bool(value >= least)


class _NetworkEstimator(BaseEstimator):
    """What both estimators share: the network's shape, training settings, and the training itself."""

    _loss = "mse"
    _output = "identity"
    network_: Network
    n_iter_: int
    _optimizer_state: dict[str, Any] | None

    def __init__(
        self,
        hidden: tuple[int, ...] = (16,),
        activation: str = "tanh",
        optimizer: str = "adam",
        learning_rate: float = 0.01,
        epochs: int = 100,
        batch: int = 32,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.hidden = hidden
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch = batch
        self.random_state = random_state
        self.verbose = verbose

    def _check_parameters(self) -> None:
        """Each parameter as this estimator takes it; one EstimatorParameterError naming the first bad one."""
        name = type(self).__name__
        problems = [
            ("hidden", "a tuple of whole numbers ≥ 1", isinstance(self.hidden, tuple | list)
             and all(_whole(u, 1) for u in self.hidden)),
            ("activation", f"one of {', '.join(sorted(ACTIVATIONS))}", self.activation in ACTIVATIONS),
            ("optimizer", f"one of {', '.join(OPTIMIZERS)}", self.optimizer in OPTIMIZERS),
            ("learning_rate", "a finite number > 0", isinstance(self.learning_rate, int | float | np.floating)
             and 0 < float(self.learning_rate) < float("inf")),
            ("epochs", "a whole number ≥ 1", _whole(self.epochs, 1)),
            ("batch", "a whole number ≥ 1", _whole(self.batch, 1)),
            ("verbose", "a whole number ≥ 0", _whole(self.verbose, 0) or isinstance(self.verbose, bool)),
        ]  # fmt: skip
        for key, expected, ok in problems:
            if not ok:
                raise EstimatorParameterError(f"{name}({key}={getattr(self, key)!r:.60}): expected {expected}")

    # -- subclasses: targets to the network's outputs ----------------------------------------
    def _outputs(self) -> int:
        raise NotImplementedError

    def _encode(self, y: Array) -> Array:
        raise NotImplementedError

    # -- the network and its training ------------------------------------------------------------
    def _new_network(self, n_features: int) -> Network:
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        outputs = self._outputs()
        layers = [{"units": int(u), "activation": self.activation, "bias": [0.0] * int(u)} for u in self.hidden]
        layers.append({"units": outputs, "activation": self._output, "bias": [0.0] * outputs})
        doc = {
            "title": type(self).__name__,
            "inputs": int(n_features),
            "loss": self._loss,
            "layers": layers,
            "training": {"learning_rate": float(self.learning_rate), "batch": int(self.batch), "seed": seed},
        }
        return from_dict(doc, source=type(self).__name__, require_examples=False)

    def _train(self, X: Array, targets: Array, epochs: int) -> None:
        """`epochs` epochs of chainrule's training loop from the current network and optimizer state."""
        config = TrainConfig(epochs=epochs, optimizer=self.optimizer, batch=min(int(self.batch), len(X)))
        try:
            trainer = Trainer(self.network_, X, targets, config)
            if self._optimizer_state is not None and self._optimizer_state.get("optimizer") == trainer.optimizer.name:
                trainer.optimizer.load_state_dict(self._optimizer_state)
            result = trainer.run(callbacks=[self._said] if self.verbose else [])
        except ChainruleError as exc:  # the engine's one line, as the ValueError Python code expects
            raise EstimatorParameterError(f"{type(self).__name__}: {exc}") from None
        self.network_ = result.network
        self._optimizer_state = trainer.optimizer.state_dict()
        self.n_iter_ += epochs
        self.loss_curve_ += [float(r.loss) for r in trainer.history.curve()]

    def _said(self, record: Any) -> None:
        """verbose: each epoch's loss, as scikit-learn's estimators print it."""
        print(f"Iteration {self.n_iter_ + record.epoch}, loss = {record.loss:.8f}")

    def _fit(self, X: Any, y: Any, *, epochs: int, reset: bool, sample_weight: Any = None) -> Any:
        self._check_parameters()
        X, y = validate_data(
            self, X, y, reset=reset, y_numeric=not isinstance(self, ClassifierMixin), multi_output=True
        )
        X, y = _weighted(X, y, sample_weight)
        if reset:
            self._set_targets(y)
            self._begin(X.shape[1])
        self._train(X, self._encode(y), epochs)
        return self

    def _set_targets(self, y: Array) -> None:
        raise NotImplementedError

    def _begin(self, n_features: int) -> None:
        """A fresh network and optimizer: what fit (and a first partial_fit) starts from."""
        self.network_ = self._new_network(n_features)
        self._optimizer_state = None
        self.n_iter_ = 0
        self.loss_curve_: list[float] = []

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Train a fresh network for `epochs` epochs (`sample_weight`: whole numbers, see above)."""
        return self._fit(X, y, epochs=int(self.epochs), reset=True, sample_weight=sample_weight)

    def _outputs_of(self, X: Any) -> Array:
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False)
        with np.errstate(all="ignore"):
            return np.asarray(self.network_.forward(X.astype(np.float64)).output)

    def explain_step(self, X: Any, y: Any, example: int = 0) -> StepRecord:
        """One update of the fitted network on (X, y), every number recorded (see chainrule.explain_step)."""
        check_is_fitted(self, "network_")
        X, y = validate_data(self, X, y, reset=False, multi_output=True)
        net = copy.deepcopy(self.network_)
        net.x, net.y = X.astype(np.float64), self._encode(y)
        return explain_step(net, example)

    # Pickling: a Network holds its activation functions (lambdas); it travels as its document.
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if "network_" in state:
            state["network_"] = to_dict(state["network_"])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if isinstance(state.get("network_"), dict):
            state["network_"] = from_dict(state["network_"], source=type(self).__name__, require_examples=False)
        self.__dict__.update(state)


def _weighted(X: Array, y: Array, sample_weight: Any) -> tuple[Array, Array]:
    """Each example repeated `sample_weight` times in place (none given: as they are)."""
    if sample_weight is None:
        return X, y
    w = _check_sample_weight(sample_weight, X, dtype=np.float64)
    if not np.all((w >= 0) & (w == np.round(w))) or not w.sum() >= 1:
        raise EstimatorParameterError("sample_weight: expected whole numbers ≥ 0, at least one of them > 0")
    counts = w.astype(np.int64)
    return np.repeat(X, counts, axis=0), np.repeat(y, counts, axis=0)


class NetworkClassifier(ClassifierMixin, _NetworkEstimator):
    """A chainrule network as a scikit-learn classifier (see the module's docstring)."""

    def _set_targets(self, y: Array) -> None:
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"expected samples of at least 2 classes in the data, got 1 class ({self.classes_[0]!r})")

    def _outputs(self) -> int:
        return 1 if len(self.classes_) == 2 else len(self.classes_)

    @property
    def _loss(self) -> str:  # type: ignore[override]
        return "binary_cross_entropy" if len(self.classes_) == 2 else "cross_entropy"

    @property
    def _output(self) -> str:  # type: ignore[override]
        return "sigmoid" if len(self.classes_) == 2 else "softmax"

    def _encode(self, y: Array) -> Array:
        y = column_or_1d(y, warn=True)
        index = np.searchsorted(self.classes_, y)
        if np.any(index >= len(self.classes_)) or np.any(self.classes_[np.minimum(index, len(self.classes_) - 1)] != y):
            raise ValueError(f"expected labels among the classes seen in fit ({list(self.classes_)})")
        if len(self.classes_) == 2:
            return index.astype(np.float64)[:, None]
        return np.eye(len(self.classes_))[index]

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> NetworkClassifier:
        """One epoch over (X, y); the first call needs `classes` (every label there will be)."""
        first = not hasattr(self, "network_")
        if first:
            self._check_parameters()
            if classes is None:
                raise ValueError("classes: expected every class label on the first call to partial_fit")
            self._set_targets(np.asarray(classes))
            X, y = validate_data(self, X, y, reset=True)
            self._begin(X.shape[1])
            self._train(X, self._encode(y), 1)
            return self
        result = self._fit(X, y, epochs=1, reset=False)
        assert isinstance(result, NetworkClassifier)
        return result

    def predict_proba(self, X: Any) -> Array:
        """Each class's probability: [1 − σ, σ] for two classes, the softmax for more."""
        out = self._outputs_of(X)
        return np.hstack([1.0 - out, out]) if out.shape[1] == 1 else out

    def predict(self, X: Any) -> Array:
        proba = self.predict_proba(X)  # first: it says "not fitted" before classes_ is looked for
        return np.asarray(self.classes_[np.argmax(proba, axis=1)])


class NetworkRegressor(RegressorMixin, _NetworkEstimator):
    """A chainrule network as a scikit-learn regressor (see the module's docstring)."""

    _loss = "mse"
    _output = "identity"

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # one output neuron per target column
        return tags

    def _set_targets(self, y: Array) -> None:
        y2 = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        self._single = np.ndim(y) == 1
        self.y_mean_ = y2.mean(axis=0)
        std = y2.std(axis=0)
        self.y_scale_ = np.where(std > 0, std, 1.0)

    def _outputs(self) -> int:
        return len(self.y_mean_)

    def _encode(self, y: Array) -> Array:
        y2 = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        return np.asarray((y2 - self.y_mean_) / self.y_scale_)

    def partial_fit(self, X: Any, y: Any) -> NetworkRegressor:
        """One epoch over (X, y); the first call also fixes the target's standardisation."""
        result = self._fit(X, y, epochs=1, reset=not hasattr(self, "network_"))
        assert isinstance(result, NetworkRegressor)
        return result

    def predict(self, X: Any) -> Array:
        out = self._outputs_of(X) * self.y_scale_ + self.y_mean_
        return np.asarray(out[:, 0] if self._single else out)
