"""A real SMTP server on loopback for the e-mail tests (aiosmtpd).

Usage: smtp_sink.py PORT DIR. Each message received is parsed as a mail client would and
written to DIR as NNNN.json: envelope, headers (decoded), the MIME structure, the plain and
HTML parts (decoded). Prints "ready" once it listens; stops when its standard input closes.
"""
import json
import os
import sys
from email import policy
from email.parser import BytesParser

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out):
        self.out = out
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        msg = BytesParser(policy=policy.default).parsebytes(envelope.content)
        plain = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        def text(part):
            # SMTP carries lines ended by CRLF; compare text as written.
            return part.get_content().replace("\r\n", "\n") if part is not None else None

        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "subject": str(msg["Subject"]),
            "content_type": msg.get_content_type(),
            "parts": [p.get_content_type() for p in msg.iter_parts()] if msg.is_multipart() else [],
            "plain": text(plain),
            "html": text(html),
        }
        self.count += 1
        path = os.path.join(self.out, "%04d.json" % self.count)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.replace(path + ".tmp", path)
        return "250 Message accepted for delivery"


def main():
    port = int(sys.argv[1])
    out = sys.argv[2]
    controller = Controller(Sink(out), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
