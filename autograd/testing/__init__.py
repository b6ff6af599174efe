"""Check gradients: of glassgrad's ops and of your own functions."""

from .gradcheck import GradcheckError, GradcheckResult, gradcheck

__all__ = ["GradcheckError", "GradcheckResult", "gradcheck"]
