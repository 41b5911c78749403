FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain domain
COPY eventlog eventlog
COPY projections projections
COPY service service
COPY migrations migrations
COPY jobledger jobledger
RUN pip install --no-cache-dir .
COPY examples examples
EXPOSE 8080
CMD ["jobledger", "serve", "--host", "0.0.0.0", "--port", "8080"]
