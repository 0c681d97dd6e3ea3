FROM python:3.11-slim
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir ".[pg,es]"
ENV PORTAL_INSTANCE_PATH=/data
VOLUME /data
EXPOSE 5000
CMD ["portal", "up", "--host", "0.0.0.0", "--port", "5000"]
