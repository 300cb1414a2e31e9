"""The forecasters' names, declared once: schemas, the pipeline and reports read them here.

A name says the model and the scale it works on, so one name never means two things: ``drift``
is a random walk with drift on levels, ``drift_log`` the same on log GMV (exponential growth).
"""

#: Every model a notebook can name, with the words a report uses for it.
MODELS = {
    "prophet": "Prophet set up for monthly data, on log GMV",
    "ets": "exponential smoothing, configuration chosen by AICc, on levels",
    "theta": "the Theta method on levels",
    "theta_log": "the Theta method on log GMV",
    "hw_damped_mul": "damped multiplicative Holt-Winters (least squares), on levels",
    "seasonal_naive": "seasonal naive (the same month a year earlier)",
    "drift": "random walk with drift, on levels",
    "drift_log": "random walk with drift on log GMV",
    "ets_fast": "exponential smoothing chosen by AICc, fitted by statsforecast, on levels",
    "ets_fast_log": "exponential smoothing chosen by AICc, fitted by statsforecast, on log GMV",
    "theta_fast": "the state-space Theta models (statsforecast), on levels",
    "theta_fast_log": "the state-space Theta models (statsforecast), on log GMV",
    "ensemble": "the mixture of its members' sample paths",
    "ensemble_fast": "the mixture of the statsforecast-fitted members' sample paths",
    "auto": "chosen by rolling-origin backtest",
    "outside_view": "the outside view: how comparable platforms grew from the same scale and age",
}
#: Names that stand for a choice or a combination rather than one model.
META_MODELS = ("ensemble", "auto")
