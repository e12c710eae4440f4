"""URLconf of ``manage.py sandbox --port N``: only the GoHighLevel API, at the root, so the base
URL is ``http://127.0.0.1:N`` and paths are exactly GoHighLevel's."""
from django.urls import re_path

from . import views

urlpatterns = [re_path(r"^(?P<path>.*)$", views.api, name="sandbox_standalone_api")]
