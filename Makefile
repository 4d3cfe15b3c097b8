# One command sets up a fresh Debian bookworm machine and runs the main job (make run);
# one runs the tests (make test). Everything below is idempotent and quick when done.
SHELL := /bin/bash
PYTHON3 ?= python3
VENV := .venv
PY := $(abspath $(VENV))/bin/python
STAMPS := .stamps
# pabot workers: the suites mostly wait on emulated devices, so one more than the CPUs
JOBS ?= $(shell echo $$(( $$(nproc) + 1 )))
RESULTS ?= results

APT_PACKAGES := qemu-system-arm gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi \
  gdb-multiarch mosquitto mosquitto-clients dnsmasq-base iproute2 tcpdump nmap hping3 netcat-openbsd \
  flatbuffers-compiler dpkg-dev xz-utils openssl ca-certificates python3-venv iputils-ping

.PHONY: setup apt venv images generated libdoc test pytest suites run clean clean-lab conformance-real bench

setup: apt venv generated images libdoc
	@echo "setup complete: 'make run' runs the main job, 'make test' the tests"

# Debian packages: install only what is missing (fast when everything is there)
apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

venv: $(STAMPS)/venv
$(STAMPS)/venv: requirements.lock pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(VENV)/bin/python || $(PYTHON3) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.lock
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

generated: venv
	$(PY) -m harness.secmsg.generate

images: venv
	$(MAKE) -C qemu_images images PYTHON=$(PY)

libdoc: venv
	@mkdir -p docs/libdoc
	$(PY) -m robot.libdoc -F REST harness.robot.Testbed docs/libdoc/Testbed.html >/dev/null
	@echo "keyword docs: docs/libdoc/Testbed.html"

# The test command CI runs: pytest, then the Robot suites in parallel (pabot), merged.
test: venv generated images
	@status=0; \
	$(PY) -m pytest -q -p no:cacheprovider || status=1; \
	$(PY) -m harness.suites --jobs $(JOBS) --outputdir $(RESULTS)/robot robot_suites || status=1; \
	exit $$status

pytest: venv generated images
	$(PY) -m pytest -q

suites: venv generated images
	$(PY) -m harness.suites --jobs $(JOBS) --outputdir $(RESULTS)/robot $(or $(SUITES),robot_suites)

run: setup
	$(PY) -m harness run

# the timing-sensitive conformance tests on the real profile (first collection 30-89 s, 300 s pending time)
conformance-real: venv generated images
	$(PY) -m harness.suites --jobs $(JOBS) --outputdir $(RESULTS)/conformance-real -v PROFILE:real \
	  --include timing robot_suites/conformance

# Benchmarks (docs/benchmarks.md): bench/results/latest.md and latest.json, ~10 min on 2 CPUs (as root).
# BENCH_ARGS="--only boot,density" runs some of them.
bench: venv generated images
	$(PY) bench/run.py $(BENCH_ARGS)

clean-lab: venv
	$(PY) -m harness clean-lab

clean:
	$(MAKE) -C qemu_images clean
	rm -rf $(RESULTS) artifacts docs/libdoc harness/secmsg/generated
