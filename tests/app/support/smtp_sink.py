"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1:PORT, writing each message it
accepts, byte for byte as received, to FOLDER/<n>.eml. Prints "ready" once it listens.

    python smtp_sink.py PORT FOLDER
"""
import os
import sys
import threading
import time

from aiosmtpd.controller import Controller


class Store:
    def __init__(self, folder):
        self.folder = folder
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        with self.lock:
            name = "%d-%d.eml" % (time.time_ns(), os.getpid())
            partial = os.path.join(self.folder, "." + name)
            with open(partial, "wb") as f:
                f.write(data)
            os.rename(partial, os.path.join(self.folder, name))
        return "250 2.0.0 stored as " + name


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    os.makedirs(folder, exist_ok=True)
    controller = Controller(Store(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
