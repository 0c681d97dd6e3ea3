FROM python:3.11-slim
WORKDIR /app
COPY . .
# The portal runs as uid 1000 in group 0, as Elasticsearch's image does, so it can read the
# certificates the compose file's `setup` service writes (root:root, group-readable).
RUN pip install --no-cache-dir ".[pg,es,redis]" \
    && useradd --uid 1000 --gid 0 --home-dir /data --no-create-home portal \
    && mkdir -p /data && chown portal:0 /data
ENV PORTAL_INSTANCE_PATH=/data
VOLUME /data
USER portal
EXPOSE 5000
# Migrate the database (idempotent; the plan catalog on first start), then serve. Each worker drains the outbox into the
# search index; the first drain creates an empty live index, so no `portal reindex` is needed.
CMD ["sh", "-c", "portal init --load-plan && exec gunicorn -w 4 -b 0.0.0.0:5000 portal.wsgi:app"]
