"""An independent mDNS peer for interoperability tests, using python-zeroconf (Debian's
python3-zeroconf; run it with /usr/bin/python3). Prints events as JSON lines on stdout.

  zeroconf-peer.py browse
      browses _clipsync._tcp.local. and prints {"event": "add"|"update", ...} with the resolved
      SRV, addresses and TXT properties, and {"event": "remove", "name": ...}
  zeroconf-peer.py publish INSTANCE HOST PORT PROPERTIES_JSON ADDRESS...
      publishes INSTANCE._clipsync._tcp.local. on HOST.local. until SIGTERM, then unregisters
      (sending goodbyes) and prints {"event": "unregistered"}
"""
import json
import signal
import socket
import sys
import threading

from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

SERVICE_TYPE = "_clipsync._tcp.local."


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def decode(value):
    return None if value is None else value.decode("utf-8", "replace")


def browse(zc):
    def on_change(zeroconf, service_type, name, state_change):
        if state_change is ServiceStateChange.Removed:
            emit({"event": "remove", "name": name})
            return
        info = zeroconf.get_service_info(service_type, name, timeout=5000)
        if info is None:
            emit({"event": "unresolved", "name": name})
            return
        emit({
            "event": "add" if state_change is ServiceStateChange.Added else "update",
            "name": name,
            "server": info.server,
            "port": info.port,
            "addresses": info.parsed_addresses(),
            "properties": {decode(k): decode(v) for k, v in info.properties.items()},
        })

    browser = ServiceBrowser(zc, SERVICE_TYPE, handlers=[on_change])
    emit({"event": "browsing"})
    return lambda: browser.cancel()


def publish(zc, instance, host, port, properties, addresses):
    info = ServiceInfo(
        SERVICE_TYPE,
        f"{instance}.{SERVICE_TYPE}",
        port=int(port),
        properties=properties,
        server=f"{host}.local.",
        addresses=[socket.inet_pton(socket.AF_INET6 if ":" in a else socket.AF_INET, a) for a in addresses],
    )
    zc.register_service(info)
    emit({"event": "registered", "name": info.name})

    def stop():
        zc.unregister_service(info)
        emit({"event": "unregistered"})

    return stop


def main(argv):
    if len(argv) < 2 or argv[1] not in ("browse", "publish"):
        sys.stderr.write(__doc__)
        return 2
    # Handlers first: a test may send SIGTERM the moment it reads "registered", and the
    # default action would kill us before the goodbye it is waiting for.
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    zc = Zeroconf(ip_version=IPVersion.V4Only)
    if argv[1] == "browse":
        cleanup = browse(zc)
    else:
        instance, host, port, properties = argv[2], argv[3], argv[4], json.loads(argv[5])
        cleanup = publish(zc, instance, host, port, properties, argv[6:])
    while not done.wait(0.2):
        pass
    cleanup()
    zc.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
