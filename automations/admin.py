from django.contrib import admin

from .models import Agency, Connection, Flow, FlowVersion, Membership, Run, StepResult, Workspace


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "agency", "created")
    search_fields = ("name", "slug")


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = ("name", "app", "auth_kind", "workspace", "status", "last_checked")
    exclude = ("secret_blob",)  # secrets never appear in the admin
    list_filter = ("app", "status")


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "enabled", "published", "updated")
    list_filter = ("enabled",)
    search_fields = ("name",)


class StepInline(admin.TabularInline):
    model = StepResult
    extra = 0
    fields = ("path", "operation", "status", "error_category", "error_message", "attempts", "duration_ms")
    readonly_fields = fields


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ("id", "flow", "status", "source", "summary", "created", "finished_at")
    list_filter = ("status", "source")
    raw_id_fields = ("flow", "version", "replay_of")
    inlines = [StepInline]


admin.site.register(Agency)
admin.site.register(Membership)
admin.site.register(FlowVersion)
