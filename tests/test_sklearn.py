"""chainrule.sklearn: estimators that pass scikit-learn's own checks, tune in a Pipeline with
GridSearchCV, and whose fitted network is chainrule's (explain_step works on it)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from chainrule.sklearn import NetworkClassifier, NetworkRegressor


def test_classifier_passes_check_estimator() -> None:
    check_estimator(NetworkClassifier(), on_skip=None)  # skips: array API and pandas, not installed


def test_regressor_passes_check_estimator() -> None:
    check_estimator(NetworkRegressor(), on_skip=None)


def test_pipeline_and_grid_search_on_iris() -> None:
    x, y = load_iris(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    pipe = Pipeline([("scale", StandardScaler()), ("net", NetworkClassifier(random_state=0))])
    grid = {"net__hidden": [(4,), (8, 8)], "net__learning_rate": [0.003, 0.03]}
    search = GridSearchCV(pipe, grid, cv=3).fit(x_train, y_train)
    assert set(search.cv_results_["params"][0]) == set(grid)
    assert search.best_score_ > 0.9
    assert search.score(x_test, y_test) > 0.9
    proba = search.predict_proba(x_test)
    assert proba.shape == (len(x_test), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)


def test_explain_step_on_a_fitted_estimator() -> None:
    """The step explained is the engine's update of the fitted network: its gradient equals backward's."""
    x, y = load_iris(return_X_y=True)
    clf = NetworkClassifier(hidden=(3,), epochs=5, random_state=1).fit(x, y)
    step = clf.explain_step(x[:1], y[:1])
    net = clf.network_
    target = np.eye(3)[y[:1]]
    grads = net.gradients(net.backward(net.forward(x[:1]), target))
    assert step.values["dL/dw1"] == grads["w1"]
    assert step.loss == "cross_entropy"


def test_partial_fit_carries_the_optimizer_state() -> None:
    """With the whole data in one batch (no shuffling), two partial_fit calls are fit for 2 epochs:
    Adam's moments and step count go on from one call to the next."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=20)
    whole = NetworkRegressor(hidden=(4,), epochs=2, batch=20, random_state=3).fit(x, y)
    parts = NetworkRegressor(hidden=(4,), batch=20, random_state=3)
    parts.partial_fit(x, y).partial_fit(x, y)
    assert parts.network_.parameters() == whole.network_.parameters()
    assert parts.n_iter_ == whole.n_iter_ == 2
    labels = (y > 0).astype(int)
    clf = NetworkClassifier(hidden=(4,), batch=20, random_state=3).partial_fit(x, labels, classes=[0, 1])
    assert list(clf.classes_) == [0, 1] and clf.predict(x).shape == (20,)


def test_regressor_learns_and_predicts_with_the_engine() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 2, size=(200, 2))
    y = np.column_stack([np.sin(x[:, 0]) + x[:, 1], x[:, 0] * x[:, 1]]) * 10 + 5
    reg = NetworkRegressor(hidden=(16,), epochs=300, random_state=0).fit(x, y)
    assert reg.score(x, y) > 0.9
    engine = reg.network_.forward(x).output * reg.y_scale_ + reg.y_mean_
    np.testing.assert_allclose(reg.predict(x), engine, rtol=1e-12)


def test_params_clone_and_pickle() -> None:
    clf = NetworkClassifier(hidden=(5,), activation="relu", epochs=20, random_state=0)
    assert clf.get_params()["hidden"] == (5,)
    assert clone(clf).set_params(epochs=3).epochs == 3
    x, y = load_iris(return_X_y=True)
    clf.fit(x, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(x), clf.predict_proba(x))


def test_bad_parameters_are_value_errors_naming_the_parameter() -> None:
    from chainrule.sklearn import EstimatorParameterError

    x, y = load_iris(return_X_y=True)
    for bad, expected in [({"activation": "nope"}, "activation='nope'"), ({"hidden": (0,)}, "hidden=(0,)"),
                          ({"learning_rate": -1.0}, "learning_rate=-1.0"), ({"optimizer": "lbfgs"}, "optimizer")]:  # fmt: skip
        with pytest.raises(ValueError, match=r"NetworkClassifier\(") as caught:
            NetworkClassifier(**bad).fit(x, y)
        assert isinstance(caught.value, EstimatorParameterError) and expected in str(caught.value)
        assert "--" not in str(caught.value)  # no command-line wording


def test_verbose_and_loss_curve(capsys: pytest.CaptureFixture[str]) -> None:
    x, y = load_iris(return_X_y=True)
    clf = NetworkClassifier(epochs=5, verbose=1, random_state=0).fit(x, y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and lines[0].startswith("Iteration 1, loss = ")
    assert len(clf.loss_curve_) == 5 and clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert abs(float(lines[-1].split("= ")[1]) - clf.loss_curve_[-1]) < 1e-8  # printed with 8 decimals
    clf.partial_fit(x, y)
    assert len(clf.loss_curve_) == 6


def test_whole_sample_weights_count_an_example_that_many_times() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 3)), rng.normal(size=12)
    w = rng.integers(0, 3, 12)
    w[0] = 1
    settings = {"epochs": 3, "batch": 100, "random_state": 0, "optimizer": "sgd"}  # full batch: order-free
    weighted = NetworkRegressor(**settings).fit(x, y, sample_weight=w)
    repeated = NetworkRegressor(**settings).fit(np.repeat(x, w, axis=0), np.repeat(y, w))
    np.testing.assert_array_equal(weighted.predict(x), repeated.predict(x))
    with pytest.raises(ValueError, match="sample_weight: expected whole numbers"):
        NetworkRegressor(**settings).fit(x, y, sample_weight=np.full(12, 0.5))


def test_without_scikit_learn_the_import_says_what_to_install() -> None:
    import subprocess
    import sys

    code = "import sys; sys.modules['sklearn'] = None\ntry:\n    import chainrule.sklearn\nexcept ImportError as e:\n    print(e)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "pip install 'chainrule[data]'" in done.stdout, done.stderr
