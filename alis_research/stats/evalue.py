"""E-values: how strong unmeasured confounding would have to be to explain an association away.

VanderWeele & Ding (2017, *Ann Intern Med* 167:268–274): for a risk ratio :math:`RR`
(taken as :math:`1/RR` when below 1),

.. math::

    E = RR + \\sqrt{RR\\,(RR - 1)},

the minimum strength of association, on the risk-ratio scale, that an unmeasured
confounder would need with both the exposure and the outcome, conditional on the measured
covariates, to move the estimate to 1. For the confidence interval the same formula is
applied to the limit closest to 1, and the E-value is 1 when the interval includes 1.

A hazard ratio is first converted to a risk ratio:

* **rare outcome** (under about 15 % by the end of follow-up): :math:`RR \\approx HR`
  (VanderWeele & Ding 2017, Table);
* **common outcome**: :math:`RR \\approx \\dfrac{1 - 0.5^{\\sqrt{HR}}}{1 - 0.5^{\\sqrt{1/HR}}}`
  (VanderWeele 2017, the square-root approximation, from VanderWeele 2020 *Biometrics*
  76:746–752 "Optimal approximate conversions of odds ratios and hazard ratios to risk
  ratios"; also the ``EValue`` R package's ``evalues.HR(rare = FALSE)``).

Leaving an ALIS position is a common outcome (a third or more leave within five years),
so the report uses the common-outcome conversion unless the data show fewer than 15 %
leaving (:data:`RARE_OUTCOME_LIMIT`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

#: An outcome reached by fewer than this share by the end of follow-up counts as rare.
RARE_OUTCOME_LIMIT = 0.15


def e_value_rr(rr: float) -> float:
    """E-value of a risk ratio: :math:`RR + \\sqrt{RR(RR-1)}` after inverting a ratio below 1."""
    if not (rr > 0 and math.isfinite(rr)):
        raise ValueError(f"a risk ratio must be a positive finite number, got {rr!r}")
    rr = 1 / rr if rr < 1 else rr
    return rr + math.sqrt(rr * (rr - 1))


def hazard_to_risk_ratio(hr: float, *, rare: bool) -> float:
    """The risk ratio a hazard ratio stands for: itself when the outcome is rare, else the √ conversion."""
    if not (hr > 0 and math.isfinite(hr)):
        raise ValueError(f"a hazard ratio must be a positive finite number, got {hr!r}")
    if rare:
        return hr
    return (1 - 0.5 ** math.sqrt(hr)) / (1 - 0.5 ** math.sqrt(1 / hr))


@dataclass(frozen=True)
class EValue:
    """E-values of a hazard ratio and of its confidence limit closest to 1."""

    hr: float
    ci_lower: float
    ci_upper: float
    rare: bool
    rr: float
    e_value: float
    e_value_ci: float
    limit: str  # "lower", "upper" or "includes 1"


def e_value_hr(hr: float, ci_lower: float, ci_upper: float, *, rare: bool) -> EValue:
    """E-values of a hazard ratio and its confidence interval (VanderWeele & Ding 2017).

    Parameters
    ----------
    hr, ci_lower, ci_upper : float
        The hazard ratio and its interval.
    rare : bool
        Whether the outcome is rare by the end of follow-up (then RR ≈ HR); otherwise the
        square-root conversion of :func:`hazard_to_risk_ratio` is used for the estimate and
        the limit alike.
    """
    rr = hazard_to_risk_ratio(hr, rare=rare)
    if ci_lower <= 1 <= ci_upper:
        limit, e_ci = "includes 1", 1.0
    else:
        limit = "lower" if hr > 1 else "upper"
        e_ci = e_value_rr(hazard_to_risk_ratio(ci_lower if hr > 1 else ci_upper, rare=rare))
    return EValue(hr, ci_lower, ci_upper, rare, rr, e_value_rr(rr), e_ci, limit)
