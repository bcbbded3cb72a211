# channelwatch: one image for every Airflow service of docker-compose.yml (api-server,
# scheduler, dag-processor, triggerer, Celery worker) and for the init service.
# The same pinned dependency tree as `make venv` (requirements.lock, resolved for 3.11).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    AIRFLOW_HOME=/opt/airflow \
    GX_ANALYTICS_ENABLED=false

WORKDIR /opt/channelwatch

# Dependencies first, so a code change does not reinstall them.
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY . .
# The package (its `channelwatch` command); the code runs from the project tree, beside
# dags/ and sql/ (the warehouse migrations read sql/views from there).
RUN pip install --no-deps . \
    && useradd --uid 50000 --gid 0 --home-dir /opt/airflow --create-home channelwatch \
    && mkdir -p /opt/channelwatch/reports /opt/airflow/logs \
    && chown -R 50000:0 /opt/airflow /opt/channelwatch/reports

ENV PYTHONPATH=/opt/channelwatch \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/channelwatch/dags

USER 50000
CMD ["channelwatch", "--help"]
