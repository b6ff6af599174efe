"""gradcheck says "passed" only for a right gradient, and refuses what it cannot judge.

Each case is a function a user could point the checker at, with a gradient that is
wrong in a way an earlier version passed (or a misuse it answered with a traceback).
"""

from glassgrad import Tensor, relu
from glassgrad.testing import gradcheck


def test_a_wrong_gradient_is_not_excused_by_an_unrelated_kink():
    # x₁·detach(x₁) has gradient x₁, not 2x₁; relu sits at its kink on x₀ only.
    def f(x):
        return relu(x[0]) + x[1] * x[1].detach()

    r = gradcheck(f, Tensor([0.0, 2.0], requires_grad=True), raise_exception=False)
    assert "jacobian" in r.failures and r.rows[0].index.startswith("(1,)") and r.rows[0].verdict == "MISMATCH"
    assert gradcheck(lambda t: relu(t) - relu(-t), Tensor([0.0, 1.0], requires_grad=True))  # a true composite kink
