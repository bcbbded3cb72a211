"""Command-line commands that drive Airflow; `channelwatch.cli` lists them by name."""
