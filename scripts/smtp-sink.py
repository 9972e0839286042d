#!/usr/bin/env python3
"""A real SMTP server for the mail tests (aiosmtpd): accepts every message on
127.0.0.1:PORT and writes it, as received, to DIR/NNNN.eml. With
--fail-first N it answers the first N messages with a temporary error
(451), so a test can watch the outbox retry."""

import argparse
import itertools
import os
import signal
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder, fail_first):
        self.folder = folder
        self.fail_left = fail_first
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        if self.fail_left > 0:
            self.fail_left -= 1
            return "451 4.3.0 Temporary failure (test)"
        n = next(self.counter)
        path = os.path.join(self.folder, f"{n:04d}.eml")
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(b"X-Envelope-To: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.original_content or envelope.content)
        os.replace(tmp, path)
        return "250 2.0.0 OK"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--fail-first", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    controller = Controller(Sink(a.dir, a.fail_first), hostname="127.0.0.1", port=a.port)
    controller.start()
    print("listening", flush=True)
    signal.sigwait([signal.SIGTERM, signal.SIGINT])
    controller.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
