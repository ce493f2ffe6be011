"""Install the Occopus commands from a private index or a wheelhouse.

    python3 install-occopus.py --index-url http://HOST:8080/simple/
    python3 install-occopus.py --wheelhouse api/wheelhouse        # offline
    curl -fsS URL/install-occopus.py | python3 - --index-url ...  # piped
    sudo python3 install-occopus.py --server --index-url ...      # a REST server

One run gives a virtual environment with the occopus-* commands and links to
them on PATH; --server adds a system user, /etc/occopus and a systemd unit
for occopus-rest-service. Running it again is safe: an installation that is
there is reported, not redone (--force, --upgrade, --uninstall, --check).
"""
# ./occo-dev bundle-installer joins the modules of this package into
# dist/install-occopus.py: standard library only, syntax that Python 3.6 parses,
# one namespace for all (the rules are in dev/occodev/bundle.py).
