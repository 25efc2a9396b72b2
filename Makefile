# latentsearch: set up, demo, test, lint, bench. Everything installs into .venv.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# The CPU build of torch lies on this machine's disk; a bare `torch` could pull a multi-GB CUDA build.
TORCH  ?= torch==2.13.0
STAMP   = $(VENV)/.installed
export HF_HUB_OFFLINE = 1
export TRANSFORMERS_OFFLINE = 1
# mkdocs-material prints a notice about MkDocs 2 on every build; the docs build here is MkDocs 1.6.
export NO_MKDOCS_2_WARNING = 1

.PHONY: setup demo serve-demo test test-full lint docs clean postgres mariadb browser ldap mailserver bench bench-quick bench-setup

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

demo: setup
	VENV=$(VENV) bash samples/demo.sh

# The HTTP backend and search page over the sample corpus, with two API keys printed.
serve-demo: setup
	$(BIN)/python samples/serve_demo.py --port 8080

# Backups of PostgreSQL stores need pg_dump, pg_restore and psql of the server's major version.
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect 15 main start
	@pg_isready -h 127.0.0.1 -p 5432
	@command -v pg_dump >/dev/null && command -v pg_restore >/dev/null && command -v psql >/dev/null || \
	  { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql-client-15 >/dev/null; }
	@pg_dump --version | grep -q ' 15\.' || { echo "pg_dump is not PostgreSQL 15, the server's version"; exit 1; }

# The sql source tests (tests/connectors) read a MariaDB server at 127.0.0.1:3306 as root with
# an empty password, database `test`. Installed, started and set up only when not reachable.
MARIADB_OK = mariadb -h 127.0.0.1 -P 3306 -u root -e 'select 1' test >/dev/null 2>&1
mariadb:
	@$(MARIADB_OK) || { \
	  command -v mysqld >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq mariadb-server >/dev/null; }; \
	  $(SUDO) service mariadb start >/dev/null 2>&1 || $(SUDO) /etc/init.d/mariadb start; \
	  $(SUDO) mariadb -e "CREATE DATABASE IF NOT EXISTS test; ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('')"; }
	@$(MARIADB_OK) || { echo "MariaDB is not reachable at 127.0.0.1:3306 as root"; exit 1; }

# The page test drives Debian's chromium through the playwright package (installed by setup).
# Never `playwright install`: it downloads a browser build, which this network does not allow.
CHROMIUM ?= /usr/bin/chromium
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	@test -x $(CHROMIUM)

# The directory tests start their own slapd (Debian's, configured in a temporary folder by the
# fixture in tests/ldapkit.py); this only installs it and the ldap-utils client programs.
ldap:
	@test -x /usr/sbin/slapd && command -v ldapmodify >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq slapd ldap-utils >/dev/null; }
	@test -x /usr/sbin/slapd && command -v ldapmodify >/dev/null

# The IMAP connector's tests start a real Dovecot from a private config (tests/mailkit.py).
mailserver:
	@test -x /usr/sbin/dovecot || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq dovecot-imapd >/dev/null; }
	@test -x /usr/sbin/dovecot

test: setup postgres mariadb browser ldap mailserver
	$(BIN)/python -m pytest

# The same suite with the adversarial tests at full size (tests/full.py reads the variable).
test-full: setup postgres mariadb browser ldap mailserver
	LATENTSEARCH_TEST_FULL=1 $(BIN)/python -m pytest

# Style, strict types, and the import contracts of pyproject.toml (layers, no cycles).
lint: setup
	$(BIN)/ruff check latentsearch tests bench
	$(BIN)/ruff format --check latentsearch tests bench
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

# The docs site (mkdocs.yml) into site/, strictly: a warning fails the build. The CLI and HTTP API
# references are rendered from the code by docs/hooks/; nothing is downloaded at build time.
DSTAMP = $(VENV)/.installed-docs

$(DSTAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e ".[docs]"
	touch $(DSTAMP)

docs: $(DSTAMP)
	$(BIN)/mkdocs build --strict

# Benchmarks against txtai, Chroma, LanceDB, gensim and raw FAISS (docs/benchmarks.md). They live in a
# venv of their own: txtai requires faiss-cpu, whose files overlap faiss-gpu's, so the GPU build
# is put back on top where it is the platform's FAISS.
BENCH_VENV ?= .venv-bench
BBIN        = $(BENCH_VENV)/bin
BSTAMP      = $(BENCH_VENV)/.installed

bench-setup: $(BSTAMP)

$(BSTAMP): pyproject.toml
	test -x $(BBIN)/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BBIN)/python -m pip install -q --upgrade pip
	$(BBIN)/python -m pip install -q "$(TORCH)"
	$(BBIN)/python -m pip install -q -e ".[bench]"
	if [ "$$(uname -sm)" = "Linux x86_64" ]; then \
	  $(BBIN)/python -m pip install -q --force-reinstall --no-deps \
	    "faiss-gpu==$$($(BBIN)/python -c 'import importlib.metadata as m; print(m.version("faiss-gpu"))')"; fi
	touch $(BSTAMP)

# The full suite (about 65 min on 2 cores, S2 at 10M being 50 of them; see docs/benchmarks.md)
# and the reduced one (< 10 min).
bench: bench-setup postgres
	$(BBIN)/python -m bench.run

bench-quick: bench-setup postgres
	$(BBIN)/python -m bench.run --quick

clean:
	rm -rf $(VENV) $(BENCH_VENV) .pytest_cache .mypy_cache .ruff_cache site
