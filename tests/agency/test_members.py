"""Agency people page: owners give, change and remove access; members only look; the last owner
stays; every lookup stays inside the agency."""
import re

from automations.models import AgencyMembership, Membership

from .conftest import login


def url(agency):
    return f"/a/{agency.pk}/members/"


def post(client, agency, **data):
    return client.post(url(agency), data, follow=True)


def test_everyone_in_the_agency_sees_the_people_only_owners_get_forms(client, cast):
    page = login(client, cast.ann).get(url(cast.a.agency)).content.decode()
    assert "max" in page and "ed" in page and "vic" in page and "Give access" in page
    page = login(client, cast.max).get(url(cast.a.agency)).content.decode()
    assert "max" in page and "Give access" not in page and "Remove" not in page
    assert login(client, cast.ed).get(url(cast.a.agency)).status_code == 404  # a client editor is not in the agency
    assert login(client, cast.ann).get(url(cast.b.agency)).status_code == 404  # another agency


def test_owner_adds_an_existing_user_to_a_client_and_to_the_agency(client, cast, django_user_model):
    login(client, cast.ann)
    page = post(client, cast.a.agency, action="add", who="ZED@example.com", access=f"client:{cast.a.clients[1].pk}:viewer")
    assert "zed is now client viewer (runs only) of Alpha Client 2" in page.content.decode()
    assert Membership.objects.get(user=cast.zed, workspace=cast.a.clients[1]).role == Membership.VIEWER
    post(client, cast.a.agency, action="add", who="vic", access="agency:member")
    assert AgencyMembership.objects.get(user=cast.vic, agency=cast.a.agency).role == AgencyMembership.MEMBER


def test_owner_creates_a_login_for_a_new_email(client, cast, django_user_model):
    login(client, cast.ann)
    page = post(client, cast.a.agency, action="add", who="New.Person@Agency.com", access="agency:member").content.decode()
    password = re.search(r"with the password (\S+) ", page).group(1)
    user = django_user_model.objects.get(email="new.person@agency.com")
    assert user.check_password(password) and AgencyMembership.objects.filter(user=user, agency=cast.a.agency).exists()
    page = post(client, cast.a.agency, action="add", who="nobody-here", access="agency:member").content.decode()
    assert "No one is called" in page and not django_user_model.objects.filter(username="nobody-here").exists()


def test_a_client_of_another_agency_cannot_be_granted(client, cast):
    login(client, cast.ann)
    page = post(client, cast.a.agency, action="add", who="max", access=f"client:{cast.b.ws.pk}:editor").content.decode()
    assert "Choose what the person can access" in page
    assert not Membership.objects.filter(user=cast.max, workspace=cast.b.ws).exists()


def test_roles_change_and_access_is_removed(client, cast):
    login(client, cast.ann)
    ed = Membership.objects.get(user=cast.ed, workspace=cast.a.ws)
    post(client, cast.a.agency, action="role", kind="client", id=ed.pk, role="viewer")
    assert Membership.objects.get(pk=ed.pk).role == Membership.VIEWER
    post(client, cast.a.agency, action="remove", kind="client", id=ed.pk)
    assert not Membership.objects.filter(pk=ed.pk).exists()
    mx = AgencyMembership.objects.get(user=cast.max, agency=cast.a.agency)
    post(client, cast.a.agency, action="role", kind="agency", id=mx.pk, role="owner")
    assert AgencyMembership.objects.get(pk=mx.pk).role == AgencyMembership.OWNER


def test_the_last_owner_stays(client, cast):
    login(client, cast.ann)
    ann = AgencyMembership.objects.get(user=cast.ann, agency=cast.a.agency)
    page = post(client, cast.a.agency, action="remove", kind="agency", id=ann.pk).content.decode()
    assert "at least one owner" in page and AgencyMembership.objects.filter(pk=ann.pk).exists()
    post(client, cast.a.agency, action="role", kind="agency", id=ann.pk, role="member")
    assert AgencyMembership.objects.get(pk=ann.pk).role == AgencyMembership.OWNER


def test_members_cannot_change_anything_and_ids_from_another_agency_do_nothing(client, cast):
    zed = AgencyMembership.objects.get(user=cast.zed, agency=cast.b.agency)
    vic = Membership.objects.get(user=cast.vic, workspace=cast.a.ws)
    login(client, cast.max)
    page = post(client, cast.a.agency, action="remove", kind="client", id=vic.pk).content.decode()
    assert "Only an agency owner" in page and Membership.objects.filter(pk=vic.pk).exists()
    login(client, cast.ann)
    page = post(client, cast.a.agency, action="remove", kind="agency", id=zed.pk).content.decode()
    assert "That access no longer exists" in page and AgencyMembership.objects.filter(pk=zed.pk).exists()
    post(client, cast.a.agency, action="role", kind="agency", id=zed.pk, role="member")
    assert AgencyMembership.objects.get(pk=zed.pk).role == AgencyMembership.OWNER
