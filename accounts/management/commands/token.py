from django.core.management.base import BaseCommand, CommandError

from accounts.management.commands.createuser import add_token_arguments, expiry
from accounts.models import ApiToken, User
from accounts.services import do_issue_token, do_revoke_token


class Command(BaseCommand):
    help = "Issue an API token for an existing user and print it (shown only once), list a user's tokens, or revoke one."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="username")
        parser.add_argument("--name", default="cli")
        add_token_arguments(parser)
        parser.add_argument("--list", action="store_true", help="list the user's tokens instead")
        parser.add_argument("--revoke", type=int, metavar="TOKEN_ID", help="revoke this token of the user's instead")

    def handle(self, *args, **opts):
        user = User.objects.filter(username=opts["user"]).first()
        if user is None:
            raise CommandError(f"no user {opts['user']!r}")
        if opts["list"]:
            for token in ApiToken.objects.filter(user=user).order_by("id"):
                state = "revoked" if token.revoked_at else f"expires {token.expires_at:%Y-%m-%d %H:%M}" if token.expires_at else "no expiry"
                self.stdout.write(f"{token.id}\t{token.hint}…\t{token.scope}\t{state}\t{token.name}")
            return
        if opts["revoke"]:
            if not ApiToken.objects.filter(id=opts["revoke"], user=user).exists():
                raise CommandError(f"{user.username} has no token {opts['revoke']}")
            do_revoke_token(None, opts["revoke"])
            self.stdout.write(f"revoked token {opts['revoke']}")
            return
        self.stdout.write(do_issue_token(user, opts["name"], scope=opts["scope"], expires_at=expiry(opts["expires_days"])))
