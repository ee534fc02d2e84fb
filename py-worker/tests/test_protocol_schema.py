"""The worker's copy of the schema and its handler table cannot drift from proto/schema.json."""
import json
from pathlib import Path

from c3l_worker.ops import HANDLERS
from c3l_worker.protocol import SCHEMA

PROTO = Path(__file__).parents[2] / "proto" / "schema.json"


def test_packaged_schema_is_the_generated_copy_of_proto_schema():
    assert SCHEMA == json.loads(PROTO.read_text()), "run `npm run gen:protocol`"


def test_every_message_has_a_handler_and_every_handler_a_message():
    assert set(HANDLERS) == set(SCHEMA["messages"])


def test_every_message_is_documented_in_spec():
    spec = (PROTO.parent / "SPEC.md").read_text()
    for name in SCHEMA["messages"]:
        assert f"`{name}`" in spec, f"proto/SPEC.md does not document {name}"
