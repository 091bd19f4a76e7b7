"""The population-PK section's intro states the CV % formula of each η scale (review finding 3,
D-19.1060). Since D-19.536 a normal parameter's CV % is 100·ω/|typical value| (η added on the natural
scale; `kinetics.popfit.fit.bsv_cv_percent`), a log-normal one's 100·sqrt(exp(ω²) − 1) (η on the log
scale). The intro said "ω² (log scale) and CV % = sqrt(exp(ω²) − 1)" for every parameter, so a reader
of a normal parameter's row (here E0, ω² = 0.25, typical −5: CV = 100·0.5/5 = 10 %) was told the wrong
formula. Oracle: the formulas of D-19.536 and the ω² rows' notes as the fit writes them."""

from __future__ import annotations

from cartrial.report.popfit import PopfitResult, popfit_report_section


def _document() -> dict[str, object]:
    row = {"rse_percent": 20.0, "ci95_low": None, "ci95_high": None, "ci_method": "none"}
    return {
        "model": "emax",
        "status": "converged",
        "estimates": [
            {**row, "kind": "typical", "parameter": "ec50", "estimate": 2.0, "unit": "ng/mL"},
            {**row, "kind": "typical", "parameter": "e0", "estimate": -5.0, "unit": "-"},
            {
                **row,
                "kind": "omega2",
                "parameter": "ec50",
                "estimate": 0.09,
                "cv_percent": 30.69,
                "note": "variance of eta (log scale)",
                "shrinkage_percent": 10.0,
            },
            {
                **row,
                "kind": "omega2",
                "parameter": "e0",
                "estimate": 0.25,
                "cv_percent": 10.0,
                "note": "variance of eta (natural scale)",
                "shrinkage_percent": 12.0,
            },
        ],
        "likelihood": {"minus_2_log_likelihood": 10.0, "aic": 18.0, "bic": 20.0},
    }


def test_the_intro_states_both_cv_formulas_with_their_eta_scale() -> None:
    section, _, _ = popfit_report_section(PopfitResult(_document(), "estimates.json"))
    intro = section.intro
    assert "100·ω/|typical value|" in intro and "natural scale" in intro
    assert "100·sqrt(exp(ω²) − 1)" in intro
    assert "ω² (log scale)" not in intro  # not every parameter's η is on the log scale
    assert "here e0" in intro  # the normal parameter named
