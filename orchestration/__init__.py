"""The Airflow adapter: everything that knows Airflow, beside dags/.

- tasks: names, schedules, pools and the task bodies the DAG files call.
- local: running Airflow on this machine (`airflow db migrate`, `airflow dags test`).
- credentials, mail: Airflow connections resolved into values the core takes.
- commands: the `channelwatch demo` and `channelwatch airflow-setup` commands.

The core (channelwatch, checks, connectors, kernel) never imports this package; see
docs/architecture.md.
"""
