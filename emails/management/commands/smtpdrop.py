import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from emails.smtpdrop import controller


class Command(BaseCommand):
    help = "Run the BCC/forward drop: an SMTP server storing mail sent to users' drop addresses."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.BCC_DROP_HOST)
        parser.add_argument("--port", type=int, default=settings.BCC_DROP_PORT)

    def handle(self, *args, **opts):
        drop = controller(opts["host"], opts["port"])
        drop.start()
        self.stdout.write(f"BCC drop listening on {opts['host']}:{opts['port']} for *@{settings.BCC_DROP_DOMAIN}")
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        drop.stop()
