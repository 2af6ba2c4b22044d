"""The ``touchpoints`` console script: Django's manage.py under a friendlier
name (``touchpoints serve``, ``touchpoints worker``, ``touchpoints demo``,
``touchpoints createuser ...``)."""
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["touchpoints", *sys.argv[1:]])
