# The OTP service image used by docker-compose.yml (not built or run by CI here: no Docker engine).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain domain
COPY application application
COPY adapters adapters
COPY entrypoints entrypoints
RUN pip install --no-cache-dir . && useradd --system --home /app otp && chown -R otp /app
USER otp
ENV HTTP_HOST=0.0.0.0 LOG_FORMAT=json
EXPOSE 8080
CMD ["otp", "serve"]
