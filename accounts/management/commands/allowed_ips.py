from django.core.management.base import BaseCommand, CommandError

from accounts.models import Team, User
from accounts.network import effective_ranges
from accounts.services import do_set_team_allowed_ips, do_set_user_allowed_ips
from config.errors import Invalid


class Command(BaseCommand):
    help = (
        "Show or set the CIDR ranges a user or a team may sign in and use the API from. "
        "Run on the server, it is also the way back in for an admin who locked themselves out: "
        "allowed_ips --user NAME --clear."
    )

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--user", help="username")
        target.add_argument("--team", help="team name")
        change = parser.add_mutually_exclusive_group()
        change.add_argument("--set", nargs="+", metavar="RANGE", help="replace the ranges with these (e.g. 203.0.113.0/24 2001:db8::/32)")
        change.add_argument("--clear", action="store_true", help="remove the ranges (a user: their team's apply; a team: anywhere)")

    def handle(self, *args, **opts):
        if opts["user"]:
            target = User.objects.select_related("team").filter(username=opts["user"]).first()
            setter = do_set_user_allowed_ips
        else:
            target = Team.objects.filter(name=opts["team"]).first()
            setter = do_set_team_allowed_ips
        if target is None:
            raise CommandError(f"no {'user' if opts['user'] else 'team'} {opts['user'] or opts['team']!r}")
        if opts["set"] is not None or opts["clear"]:
            try:
                setter(None, target, [] if opts["clear"] else opts["set"])  # the operator: no admin or lock-out check
            except Invalid as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write("own: " + (", ".join(target.allowed_ips) or "(none)"))
        if isinstance(target, User):
            self.stdout.write("in effect: " + (", ".join(effective_ranges(target)) or "anywhere"))
