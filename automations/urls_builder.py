"""URLs of the flow builder (flows list, editor, versions) and the connections page."""
from django.urls import path

from .views import builder, connections, editor, flows_list

F = "w/<slug:slug>/flows/<int:flow_id>/"
S = F + "steps/<str:sid>/"

urlpatterns = [
    path("w/<slug:slug>/flows/", flows_list.flows, name="builder_flows"),
    path("w/<slug:slug>/flows/new", flows_list.create_flow, name="builder_create"),
    path(F + "duplicate", flows_list.duplicate_flow, name="builder_duplicate"),
    path(F + "delete", flows_list.delete_flow, name="builder_delete"),
    path(F + "switch", flows_list.toggle_flow, name="builder_toggle"),
    path(F + "settings", flows_list.flow_settings, name="builder_settings"),
    path(F + "edit/", editor.editor, name="builder_editor"),
    path(F + "steps/add", editor.add_step, name="builder_add_step"),
    path(S, editor.step_card, name="builder_card"),
    path(S + "move", editor.move_step, name="builder_move_step"),
    path(S + "delete", editor.delete_step, name="builder_delete_step"),
    path(S + "disable", editor.toggle_step, name="builder_toggle_step"),
    path(S + "operation", editor.choose_operation, name="builder_operation"),
    path(S + "save", editor.save_step, name="builder_save_step"),
    path(S + "catalogue", builder.catalogue, name="builder_catalogue"),
    path(S + "options/<str:field>", builder.field_options, name="builder_options"),
    path(S + "preview", builder.preview, name="builder_preview"),
    path(S + "test", builder.test_step, name="builder_test_step"),
    path(F + "publish", builder.publish_flow, name="builder_publish"),
    path(F + "versions/", builder.versions, name="builder_versions"),
    path(F + "versions/<int:number>/restore", builder.restore_version, name="builder_restore"),
    path("w/<slug:slug>/connections/", connections.connections, name="connections"),
    path("w/<slug:slug>/connections/new", connections.new_connection, name="connection_new"),
    path("w/<slug:slug>/connections/add", connections.create_connection, name="connection_create"),
    path("w/<slug:slug>/connections/<int:conn_id>/test", connections.test_connection, name="connection_test"),
    path("w/<slug:slug>/connections/<int:conn_id>/rotate", connections.rotate_connection, name="connection_rotate"),
    path("w/<slug:slug>/connections/<int:conn_id>/delete", connections.delete_connection, name="connection_delete"),
]
