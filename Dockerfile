# The OTP service image: slim, non-root, multi-stage, with a health check.
#
# The wheels come from the build context (`wheels/`): `scripts/image.py build` makes them on the
# host from requirements.lock and builds this file with podman; with Docker:
#
#   .venv/bin/python scripts/image.py wheels      # the service's wheel and its locked dependencies
#   docker build -t otp-service .
#
# BASE_IMAGE is any Debian-based image; one without Python gets Debian's python3 (3.11 on
# bookworm), which the wheels are built for.
ARG BASE_IMAGE=python:3.11.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
RUN command -v python3 >/dev/null || { apt-get update \
      && apt-get install -y --no-install-recommends python3 python3-venv \
      && apt-get clean && rm -rf /var/lib/apt/lists/*; }
COPY wheels /wheels
RUN python3 -m venv /opt/otp \
    && /opt/otp/bin/python -m pip install --no-cache-dir --no-index --find-links /wheels \
         otp-service \
    && /opt/otp/bin/python -m pip uninstall --yes pip setuptools

FROM ${BASE_IMAGE} AS runtime
RUN command -v python3 >/dev/null || { apt-get update \
      && apt-get install -y --no-install-recommends python3 \
      && apt-get clean && rm -rf /var/lib/apt/lists/*; }
COPY --from=build /opt/otp /opt/otp
RUN useradd --system --uid 10001 --home-dir /var/lib/otp --create-home otp
USER otp
WORKDIR /var/lib/otp
ENV PATH=/opt/otp/bin:$PATH \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080 \
    LOG_FORMAT=json \
    PYTHONDONTWRITEBYTECODE=1
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python3", "-c", "import os, sys, urllib.request; port = os.environ.get('HTTP_PORT', '8080'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2).status == 200 else 1)"]
CMD ["otp", "serve"]
