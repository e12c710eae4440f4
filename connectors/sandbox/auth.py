"""Bearer token -> location and scopes; Version header; the spec's ``security`` block.

Errors are ``ApiError``s carrying GoHighLevel-shaped bodies (FACTS.md section 7)."""
from .models import SandboxLocation, SandboxToken

KNOWN_VERSIONS = ("2021-07-28", "2021-04-15")

# Operations whose spec declares no scope (FACTS.md section 4, "inferred").
INFERRED_SCOPES = {
    ("POST", "/contacts/bulk/tags/update/{type}"): ["contacts.write"],
    ("POST", "/contacts/bulk/business"): ["contacts.write"],
    ("GET", "/conversations/messages/email/{id}"): ["conversations/message.readonly"],
}

# Which token user types each security scheme accepts.
SCHEMES = {
    "bearer": {"Location", "Company"},
    "Location-Access": {"Location"},
    "Location-Access-Only": {"Location"},
    "Agency-Access": {"Company"},
    "Agency-Access-Only": {"Company"},
}

# Every scope the curated catalogue needs (FACTS.md section 4) plus the read scopes of the extras.
CATALOGUE_SCOPES = sorted("""
contacts.readonly contacts.write calendars.readonly calendars.write calendars/groups.readonly
calendars/groups.write calendars/events.readonly calendars/events.write calendars/resources.readonly
calendars/resources.write opportunities.readonly opportunities.write users.readonly users.write
conversations.readonly conversations.write conversations/message.readonly conversations/message.write
conversations/livechat.write businesses.readonly businesses.write workflows.readonly campaigns.readonly
snapshots.readonly locations.readonly locations.write companies.readonly locations/customFields.readonly
locations/customFields.write locations/customValues.readonly locations/customValues.write
locations/tags.readonly locations/tags.write forms.readonly associations.readonly associations.write
associations/relation.readonly associations/relation.write blogs/check-slug.readonly blogs/author.readonly
blogs/category.readonly blogs/posts.readonly blogs/list.readonly blogs/post.write blogs/post-update.write
""".split())


class ApiError(Exception):
    def __init__(self, status: int, message, error: str | None = None):
        super().__init__(message)
        self.status = status
        self.body = {"statusCode": status, "message": message}
        if error:
            self.body["error"] = error


def unauthorized(message="Invalid token: access token is invalid"):
    return ApiError(401, message, "Unauthorized")


def forbidden(message="The token is not authorized for this scope."):
    return ApiError(403, message)


def authenticate(headers) -> SandboxToken:
    value = headers.get("Authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized()
    row = SandboxToken.objects.select_related("location").filter(token=token.strip()).first()
    if row is None:
        raise unauthorized()
    return row


def check_version(op, headers) -> None:
    """The operation's declared Version is required; either known value is accepted."""
    version = headers.get("Version", "")
    if not op.versions and not version:
        return  # e.g. GET /conversations/messages/email/{id} declares none
    if version not in KNOWN_VERSIONS:
        raise ApiError(400, "version header was not found")


def check_scopes(op, token: SandboxToken) -> None:
    """Pass if one ``security`` alternative accepts the token's user type and all its scopes are granted."""
    security = op.security
    if security is None:
        security = [{"bearer": INFERRED_SCOPES.get((op.method, op.template), [])}]
    type_ok = False
    for alternative in security:
        for scheme, scopes in alternative.items():
            if token.user_type not in SCHEMES.get(scheme, set()):
                continue
            type_ok = True
            if set(scopes) <= set(token.scopes):
                return
    if not type_ok:
        raise unauthorized("This authClass type is not allowed to access this scope. "
                           "Please reach out to the Platform team to get it added.")
    raise forbidden()


def location_for(token: SandboxToken, requested: str | None) -> SandboxLocation:
    """The location a request acts on. A Location token acts on its own location only; a Company
    token may name any location of its agency."""
    if not requested or requested == token.location_id:
        return token.location
    if token.user_type == SandboxToken.COMPANY:
        loc = SandboxLocation.objects.filter(id=requested, company_id=token.location.company_id).first()
        if loc:
            return loc
    raise forbidden("The token does not have access to this location.")
