# alertbridge: monitoring alerts in, service-desk incidents out.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    ALERTBRIDGE_DATABASE_URL=sqlite:////var/lib/alertbridge/alertbridge.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bridge ./bridge
COPY connectors ./connectors
COPY classifier ./classifier
COPY dedupe ./dedupe
COPY config ./config
RUN pip install . \
 && useradd --system --uid 10001 --home-dir /var/lib/alertbridge --create-home alertbridge

USER alertbridge
EXPOSE 8080
VOLUME ["/var/lib/alertbridge"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"

ENTRYPOINT ["alertbridge", "serve"]
CMD ["--config", "/app/config/example.yaml", "--listen", "0.0.0.0:8080"]
