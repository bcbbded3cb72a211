"""Command-line commands that drive Airflow; `channelwatch.cli` lists them by name, and
leaves them out where Airflow is not installed."""

import importlib.util

if importlib.util.find_spec("airflow") is None:
    raise ModuleNotFoundError("No module named 'airflow'", name="airflow")
