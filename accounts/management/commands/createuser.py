from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import Role, TokenScope, User
from accounts.services import MAX_TOKEN_DAYS, do_create_user, do_issue_token


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
        add_token_arguments(parser)

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
            self.stdout.write(do_issue_token(user, "cli", scope=opts["scope"], expires_at=expiry(opts["expires_days"])))
        else:
            self.stdout.write(f"created {user.username} ({user.role})")


def add_token_arguments(parser) -> None:
    # The operator's token is read-write unless asked (the API defaults to read:
    # there the caller picks; here the command has always made a working token).
    parser.add_argument("--scope", choices=TokenScope.values, default=TokenScope.WRITE, help="read (GET only) or write (default)")
    parser.add_argument("--expires-days", type=int, help=f"the token stops working after this many days (1-{MAX_TOKEN_DAYS}; default: never)")


def expiry(days: int | None):
    if days is None:
        return None
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise CommandError(f"--expires-days must be between 1 and {MAX_TOKEN_DAYS}")
    return timezone.now() + timedelta(days=days)
