"""A real DNS server on loopback for the tests that resolve PTR names:
Debian's dnsmasq, started in the foreground on a free port and stopped by
the caller (no mock). Used by gt_build_test.py and rdns_profile_test.py."""
import os
import shutil
import socket
import subprocess
import time


def find_dnsmasq():
    """The dnsmasq binary, or None (the caller skips with exit 77)."""
    return shutil.which("dnsmasq") or ("/usr/sbin/dnsmasq" if os.path.exists("/usr/sbin/dnsmasq") else None)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(dnsmasq, tmp, port, records):
    """dnsmasq on 127.0.0.1:port answering only `records` (its own options,
    such as --ptr-record=... or --addn-hosts=FILE); exits the test when it
    does not start."""
    server = subprocess.Popen([dnsmasq, "--no-daemon", "--keep-in-foreground", f"--port={port}",
                               "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
                               "--bogus-priv", "--user=root", "--group=root", f"--pid-file={tmp}/dnsmasq.pid",
                               "--log-facility=-", *records], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.5)
    if server.poll() is not None:
        raise SystemExit("dnsmasq did not start: " + server.stderr.read().decode())
    return server
