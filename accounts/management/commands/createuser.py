from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role, User
from accounts.services import do_create_user, do_issue_token


class Command(BaseCommand):
    help = "Create a user (and optionally print a new API token: it is shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--role", choices=Role.values, default=Role.REP)
        parser.add_argument("--team")
        parser.add_argument("--time-zone", default="UTC")
        parser.add_argument("--password", help="for web sign-in; omit for API-only users")
        parser.add_argument("--email", default="")
        parser.add_argument("--token", action="store_true", help="issue an API token and print it")

    def handle(self, *args, **opts):
        if User.objects.filter(username=opts["username"]).exists():
            raise CommandError(f"user {opts['username']!r} already exists")
        try:
            user = do_create_user(
                opts["username"],
                role=opts["role"],
                team_name=opts["team"],
                time_zone=opts["time_zone"],
                password=opts["password"],
                email=opts["email"],
            )
        except Exception as exc:  # validation errors from the service
            raise CommandError(str(exc)) from exc
        if opts["token"]:
            self.stdout.write(do_issue_token(user, "cli"))
        else:
            self.stdout.write(f"created {user.username} ({user.role})")
