"""Tables for user accounts and their server-side sessions. A Piccolo app of its own ("accounts")."""

from piccolo.columns import Boolean, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.org.tables import Person, Unit


class User(Table, tablename="yishi_user"):
    """Someone who logs in: staff, council members, admins. Residents never need an account."""

    username = Varchar(length=40, unique=True, required=True)
    display_name = Varchar(length=50, required=True)
    password_hash = Varchar(length=200, required=True)
    is_admin = Boolean(default=False)
    #: Staff scope: this unit and everything below it. Null: no staff scope.
    unit = ForeignKey(Unit, null=True, on_delete=OnDelete.restrict)
    #: The person this account belongs to; their council seats give roles.
    person = ForeignKey(Person, null=True, on_delete=OnDelete.set_null)
    active = Boolean(default=True)
    failed_logins = Integer(default=0)
    locked_until = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    last_login_at = Timestamptz(null=True, default=None)


class UserSession(Table, tablename="yishi_session"):
    """A login. The cookie holds a random token; only its SHA-256 is stored."""

    token_hash = Varchar(length=64, unique=True, required=True)
    user = ForeignKey(User, null=False, on_delete=OnDelete.cascade)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(required=True)
    user_agent = Varchar(length=200, default="")
