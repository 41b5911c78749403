FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain domain
COPY eventlog eventlog
COPY projections projections
COPY service service
COPY migrations migrations
RUN pip install --no-cache-dir .
EXPOSE 8080
CMD ["jobledger", "serve", "--host", "0.0.0.0", "--port", "8080"]
