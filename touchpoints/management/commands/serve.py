import os
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the web app and API with gunicorn (collects static files first)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2")))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "4")))

    def handle(self, *args, **opts):
        call_command("collectstatic", interactive=False, verbosity=0)
        argv = [
            sys.executable, "-m", "gunicorn", settings.WSGI_APPLICATION.rsplit(".", 1)[0] + ":application",
            "--bind", opts["bind"], "--workers", str(opts["workers"]), "--threads", str(opts["threads"]),
            "--access-logfile", "-", "--config", "python:config.gunicorn",
        ]  # fmt: skip
        os.execvp(sys.executable, argv)
