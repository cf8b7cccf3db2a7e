# Touchline, for docker-compose.yml: one image for the worker, the collector, the dashboard and the CLI.
FROM python:3.11-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends gcc g++ make && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY transforms transforms
COPY batches batches
COPY sinks sinks
COPY streams streams
COPY dashboard dashboard
RUN pip install --no-cache-dir .
ENV TOUCHLINE_LAKE=/data/lake TOUCHLINE_CATALOG=/data/touchline.duckdb
VOLUME ["/data"]
ENTRYPOINT ["touchline"]
CMD ["worker"]
