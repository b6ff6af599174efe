"""Bad input gets a clear error, never a silent wrong number."""

import warnings

import glassgrad as ag
import numpy as np
import pytest
from glassgrad import Scalar, Tensor


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Tensor([1.0, 2.0]) @ Tensor([1.0, 2.0, 3.0]), r"matmul: operands .*f64\[2\].*f64\[3\]"),
        (lambda: Tensor(np.ones((2, 3))) * Tensor(np.ones((4, 3))), r"mul: operands .*f64\[2, 3\].*f64\[4, 3\]"),
        (lambda: Tensor(np.ones(6)).reshape(4, 2), r"reshape"),
        (lambda: ag.concatenate([Tensor(np.ones((2, 2))), Tensor(np.ones((3, 3)))], axis=0), r"concatenate"),
    ],
)
def test_shape_errors_name_op_and_shapes(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("data", [["a", "b"], np.array([object(), 1], dtype=object), np.array([1 + 2j])])
def test_non_numeric_data_is_refused(data):
    with pytest.raises(TypeError, match=r"real numbers|must be numbers"):
        Tensor(data)


@pytest.mark.parametrize("data", [np.array([1, 2]), np.array([True, False])])
def test_integer_and_bool_cannot_require_grad(data):
    with pytest.raises(TypeError, match="only floating-point"):
        Tensor(data, requires_grad=True)


def test_scalar_refuses_non_numbers():
    with pytest.raises(TypeError, match="one real number"):
        Scalar("3")
    with pytest.raises(TypeError, match="cannot combine a Scalar with a Tensor"):
        Scalar(1.0) + Tensor([1.0])


def test_backward_without_path_to_a_leaf():
    y = Tensor([1.0]) * 2
    with pytest.raises(ag.GradError, match="does not require grad"):
        y.sum().backward()
    a = Tensor([1.0], requires_grad=True)
    b = Tensor([2.0], requires_grad=True)
    with pytest.raises(ag.GradError, match="not reachable"):
        ag.grad((a * 2).sum(), [a, b])
    assert ag.grad((a * 2).sum(), [a, b], allow_unused=True)[1] is None


def test_inplace_on_value_requiring_grad_is_refused():
    w = Tensor([1.0], requires_grad=True)
    with pytest.raises(ag.InPlaceError, match="no_grad"):
        w += 1.0
    with pytest.raises(ag.InPlaceError):
        w[0] = 3.0


def test_inplace_change_of_a_saved_constant_is_detected():
    X = Tensor(np.ones((2, 2)))
    w = Tensor([1.0, 1.0], requires_grad=True)
    loss = (X @ w).sum()
    X[0, 0] = 5.0
    with pytest.raises(ag.InPlaceError, match="matmul"):
        loss.backward()


def test_inplace_change_of_an_unread_input_is_harmless():
    w = Tensor([1.0, 2.0], requires_grad=True)
    loss = (w + 1.0).sum()  # add's backward does not read its inputs
    with ag.no_grad():
        w -= 1.0
    loss.backward()
    np.testing.assert_array_equal(w.grad, [1.0, 1.0])


def test_scalar_data_assignment_counts_as_inplace():
    a = Scalar(2.0)
    y = a * a
    a.data = 3.0
    with pytest.raises(ag.InPlaceError):
        y.backward()


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: ag.log(Tensor([1.0, 0.0, -1.0])), r"log: .*x in \(0, inf\).*2 of 3 elements"),
        (lambda: Scalar(-1.0).log(), r"log: .*got -1.0"),
        (lambda: Tensor([1.0]) / Tensor([0.0]), r"div: input 1 must satisfy x ≠ 0"),
        (lambda: Tensor([-1.0]) ** 0.5, r"power: x\*\*0.5 needs x in \[0, inf\)"),
        (lambda: ag.binary_cross_entropy(Tensor([1.5]), Tensor([1.0])), r"probability"),
        (lambda: ag.binary_cross_entropy_with_logits(Tensor([0.5]), Tensor([2.0])), r"probability"),
    ],
)
def test_domain_errors(make, match):
    with pytest.raises(ag.DomainError, match=match):
        make()


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="reduction"):
        ag.binary_cross_entropy_with_logits(Tensor([0.5]), Tensor([1.0]), reduction="avg")
    with pytest.raises(ValueError, match="pos_weight"):
        ag.binary_cross_entropy_with_logits(Tensor([0.5]), Tensor([1.0]), pos_weight=0.0)


@pytest.mark.parametrize("loss", [ag.binary_cross_entropy_with_logits, ag.binary_cross_entropy])
def test_a_loss_over_every_pair_of_predictions_and_targets_is_refused(loss):
    # Targets of shape (N, 1) against predictions of shape (N,) broadcast to (N, N): a
    # loss of every prediction against every target, a plausible number and no error.
    p = Tensor(np.full(4, 0.5), requires_grad=True)
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    with pytest.raises(ag.ShapeError, match=r"\(4,\) .*\(4, 1\).*\(4, 4\).*reshape"):
        loss(p, y)
    # One side may still stretch to the other's shape, as for a single logit.
    assert loss(Tensor(0.5), y).shape == () and loss(p, y[:, 0], reduction="none").shape == (4,)


def test_anomaly_mode_names_the_forward_op_and_line():
    t = Tensor([1e200], requires_grad=True)
    with ag.detect_anomaly(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ag.AnomalyError, match=r"mul produced NaN or inf .*test_errors.py:\d+"):
            t * t


def test_anomaly_mode_names_the_backward_op():
    class Leaky(ag.Function):
        """y = x, with a backward that produces NaN on purpose"""

        @staticmethod
        def forward(ctx, x):
            return x.copy()

        @staticmethod
        def backward(ctx, g, y, x):
            return (g * np.nan,)

    t = Tensor([1.0], requires_grad=True)
    with ag.detect_anomaly():
        y = Leaky.apply(t).sum()
        with pytest.raises(ag.AnomalyError, match=r"backward of leaky produced NaN"):
            y.backward()


def test_stable_ops_raise_no_numpy_warnings_at_extremes():
    t = Tensor([-1e4, -50.0, 0.0, 50.0, 1e4], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for f in (ag.sigmoid, ag.log_sigmoid, ag.softplus, ag.tanh):
            t.grad = None
            out = f(t)
            out.sum().backward()
            assert np.isfinite(out.data).all() and np.isfinite(t.grad).all()
        y = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
        loss = ag.binary_cross_entropy_with_logits(t, y, pos_weight=2.0)
        loss.backward()
        assert np.isfinite(loss.data) and np.isfinite(t.grad).all()
        p = Tensor([0.0, 1.0, 0.5], requires_grad=True)
        loss = ag.binary_cross_entropy(p, np.array([1.0, 0.0, 1.0]))
        loss.backward()
        assert np.isfinite(loss.data) and np.isfinite(p.grad).all()
    s = Scalar(-1e4)
    for out in (s.sigmoid(), s.log_sigmoid(), s.softplus()):
        assert np.isfinite(out.data)


@pytest.mark.parametrize("make", [lambda: Tensor([0.0, 1.0, 4.0], requires_grad=True), lambda: Scalar(0.0)])
def test_derivative_domain_error_names_what_the_user_wrote_and_the_element(make):
    x = make()
    y = x**0.5
    with pytest.raises(ag.DomainError, match=r"backward of x \*\* 0\.5") as info:
        (y.sum() if isinstance(y, Tensor) else y).backward()
    message = str(info.value)
    assert "x = 0" in message and "-0.5" in message.split(";")[0]
    if isinstance(x, Tensor):
        assert "index (0,)" in message


def test_grad_of_a_non_leaf_warns_once_and_names_retain_grad():
    w = Tensor([1.0, 2.0], requires_grad=True)
    h = w * 3.0
    h.sum().backward()
    with pytest.warns(UserWarning, match=r"retain_grad\(\)"):
        assert h.grad is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert h.grad is None  # once per value
        assert w.grad is not None  # leaves never warn

    w.grad = None
    k = w * 3.0
    k.retain_grad()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        k.sum().backward()
        np.testing.assert_array_equal(k.grad, [1.0, 1.0])


@pytest.mark.parametrize("make", [lambda: Tensor([1.0, 0.0], requires_grad=True), lambda: Scalar(0.0)])
def test_derivative_domain_error_of_sqrt_names_sqrt(make):
    x = make()
    y = ag.ops.sqrt(x)
    with pytest.raises(
        ag.DomainError, match=r"backward of sqrt: the derivative 1/\(2√x\) is infinite at x = 0"
    ) as info:
        (y.sum() if isinstance(y, Tensor) else y).backward()
    if isinstance(x, Tensor):
        assert "index (1,)" in str(info.value)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Tensor(np.ones(6)).reshape(4), r"^reshape on Tensor f64\[6\]: cannot reshape array of size 6"),
        (lambda: Tensor(np.ones(0)).mean(), r"^mean on Tensor f64\[0\]: mean over an empty axis"),
        (lambda: Tensor(np.ones(0)).max(), r"^max on Tensor f64\[0\]: max over an empty axis"),
        (
            lambda: ag.concatenate([Tensor(np.ones((2, 3))), Tensor(np.ones((3, 2)))]),
            r"^concatenate: operands Tensor f64\[2, 3\], Tensor f64\[3, 2\] do not fit: all the input",
        ),
        (lambda: ag.stack([Tensor(np.ones(2)), Tensor(np.ones(3))]), r"^stack: operands .* same shape$"),
    ],
    ids=["reshape", "mean of nothing", "max of nothing", "concatenate", "stack"],
)
def test_a_shape_error_without_broadcasting_gets_no_broadcasting_hint(make, match):
    # The rule "equal, or 1, axis by axis from the right" explains a failed broadcast
    # only; after a reshape or an empty mean it sends the reader the wrong way.
    with pytest.raises(ag.ShapeError, match=match) as info:
        make()
    assert "broadcasting" not in str(info.value)
