# A Debian 12 "host" for tests/package/run: systemd as PID 1, the tools the
# test uses, and the runtime dependencies of the airgate package (RUNTIME_DEPS,
# taken from the .deb's Depends by the test), so that installing the .deb needs
# no network. The base image comes from scripts/docker-setup (debootstrap).
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      systemd systemd-sysv dbus curl python3 openssl ca-certificates procps \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 # Nothing a container host needs: consoles, udev, time sync, the first-boot wizard.
 && systemctl mask getty.target console-getty.service systemd-udevd.service systemd-udevd-kernel.socket \
      systemd-udevd-control.socket systemd-timesyncd.service systemd-firstboot.service \
      dev-hugepages.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
      systemd-journald-audit.socket >/dev/null 2>&1 || true
# A layer of its own: a change of the package's dependencies reuses the one above.
ARG RUNTIME_DEPS=""
RUN if [ -n "$RUNTIME_DEPS" ]; then \
      apt-get update -qq && apt-get install -y -qq --no-install-recommends $RUNTIME_DEPS \
      && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin; \
    fi
STOPSIGNAL SIGRTMIN+3
CMD ["/lib/systemd/systemd"]
LABEL airgate.test=package
