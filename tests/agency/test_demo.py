from automations.demo_agency import ensure_agency_demo
from automations.models import TemplateClone


def test_agency_demo_is_idempotent(db, django_user_model):
    user = django_user_model.objects.create_user(username="demo")
    assert ensure_agency_demo(user) == ensure_agency_demo(user) == {
        "agency": "Brightside Agency (demo)", "clients": 3, "template": "Tag new leads"}
    assert TemplateClone.objects.count() == 1
