"""Forecasters that yield sample paths, their selection by backtest, and the backtest itself."""
