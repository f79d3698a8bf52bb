"""One vocabulary for forecast probabilities, on every page and in the API.

    P >= 85 %        "on track"
    50 % <= P < 85 % "uncertain"
    P < 50 %         "at risk"

(stated once in docs/forecasting.md, "Words for probabilities"). The figures are named
distinctly: "P(goal met)" for a sprint goal, "P(milestone met)" for a program milestone,
"P(feature by its iteration)" for a feature done by the end of its planned iteration.
"""

ON_TRACK_FROM = 0.85
AT_RISK_BELOW = 0.5

P_GOAL_MET = "P(goal met)"
P_MILESTONE_MET = "P(milestone met)"
P_FEATURE_BY_ITERATION = "P(feature by its iteration)"

ON_TRACK, UNCERTAIN, AT_RISK = "on track", "uncertain", "at risk"
LEVELS = {ON_TRACK: "ok", UNCERTAIN: "warn", AT_RISK: "bad"}
RULE = "on track: 85% or more · uncertain: 50 to 85% · at risk: below 50%"


def outlook(p: float | None) -> str:
    """The words for a probability ("" when there is none)."""
    if p is None:
        return ""
    if p >= ON_TRACK_FROM:
        return ON_TRACK
    return UNCERTAIN if p >= AT_RISK_BELOW else AT_RISK


def level(p: float | None) -> str:
    """ok / warn / bad (a CSS hook; the words always go with it), "none" without a figure."""
    return LEVELS.get(outlook(p), "none")
