# A stand-in for the Airbyte web app, for trying docker/compose.yaml and for the
# smoke test: the project's test upstream (tests/tools/test_upstream.py, stdlib
# Python), which echoes every request as JSON (/echo), sets cookies
# (/set-cookie), answers any status (/status?code=N) and speaks WebSocket (/ws).
# Build from the repository root:
#   docker build -f docker/standin.Dockerfile -t airgate-standin .
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && useradd -u 10002 -M -d /nonexistent -s /usr/sbin/nologin standin
COPY tests/tools/test_upstream.py /usr/local/lib/standin/test_upstream.py
USER 10002
EXPOSE 8080
ENTRYPOINT ["python3", "-u", "/usr/local/lib/standin/test_upstream.py", "--name", "airbyte-webapp-standin"]
CMD ["--host", "0.0.0.0", "--port", "8080"]
LABEL airgate.stage=standin
