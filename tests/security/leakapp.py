"""A connector for the secret-leakage test: API key auth (Authorization: Bearer <key>), POST /{path}."""
from connectors.spec import ACTION, App, Operation, Param

APP = App(key="leaky", label="Leaky CRM", auth=("api_key",), base_url="http://127.0.0.1:9")
OPERATIONS = [
    Operation(key="leaky.create", app="leaky", kind=ACTION, label="Create", method="POST", path="/{kind}",
              params=(Param("kind", location="path", required=True), Param("note"))),
]
