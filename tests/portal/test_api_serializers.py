"""FixedFieldsSerializer: shallow field copies, each bound to its own serializer instance."""

from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from portal.api.serializers import FixedFieldsSerializer


class Inner(FixedFieldsSerializer):
    code = serializers.CharField()


class Outer(FixedFieldsSerializer):
    name = serializers.CharField(max_length=5)
    host = serializers.SerializerMethodField()
    inner = Inner()

    def get_host(self, obj) -> str:
        return self.context["request"].get_host()


class PlainOuter(serializers.Serializer):
    name = serializers.CharField(max_length=5)
    inner = Inner()


def _request(host: str):
    return APIRequestFactory().get("/", HTTP_HOST=host)


def test_each_instance_binds_its_own_fields_and_sees_its_own_context(settings):
    settings.ALLOWED_HOSTS = ["a.test", "b.test"]
    item = {"name": "x", "inner": {"code": "c"}}

    first = Outer(item, context={"request": _request("a.test")})
    second = Outer(item, context={"request": _request("b.test")})

    # then answers are each instance's own, nested fields included
    assert first.data == {"name": "x", "host": "a.test", "inner": {"code": "c"}}
    assert second.data["host"] == "b.test"
    assert first.fields["host"] is not second.fields["host"]
    assert first.fields["host"].parent is first and second.fields["host"].parent is second
    assert first.fields["inner"].fields["code"].parent is first.fields["inner"]
    # and the declared fields themselves stay unbound
    assert Outer._declared_fields["host"].parent is None


def test_input_validation_is_the_same_as_drfs():
    for data in ({"name": "toolong", "inner": {}}, {"name": "ok", "inner": {"code": "c"}}):
        fixed, plain = Outer(data=data), PlainOuter(data=data)
        assert fixed.is_valid() == plain.is_valid()
        assert fixed.errors == plain.errors


class HostItem(FixedFieldsSerializer):
    host = serializers.SerializerMethodField()

    def get_host(self, obj) -> str:
        return self.context["request"].get_host()


class Listing(FixedFieldsSerializer):
    items = HostItem(many=True)


def test_a_list_fields_child_is_each_instances_own_and_sees_its_context(settings):
    settings.ALLOWED_HOSTS = ["a.test", "b.test"]
    data = {"items": [{}]}

    # when two instances render the same nested list
    first = Listing(data, context={"request": _request("a.test")})
    second = Listing(data, context={"request": _request("b.test")})

    # then each list's child is its own, bound to its instance (it sees that request)
    assert first.fields["items"].child is not second.fields["items"].child
    assert first.data == {"items": [{"host": "a.test"}]}
    assert second.data == {"items": [{"host": "b.test"}]}


def test_represent_writes_what_data_would_for_each_object_and_context(settings):
    import threading

    from portal.api.serializers import _bound_serializers

    settings.ALLOWED_HOSTS = ["a.example", "b.example"]
    objects = [
        {"name": "one", "inner": {"code": "x"}, "host": None},
        {"name": "two", "inner": {"code": "y"}, "host": None},
    ]
    # the same thread, one object and request after the other, as a worker answers them
    for obj, host in zip(objects, ("a.example", "b.example"), strict=True):
        context = {"request": _request(host)}
        assert Outer.represent(obj, context=context) == Outer(obj, context=context).data
    # the request is not kept once the answer is written
    assert _bound_serializers.__dict__[Outer]._context == {}

    # another thread writes with an instance of its own
    seen = []
    thread = threading.Thread(
        target=lambda: seen.append(
            (
                Outer.represent(objects[0], context={"request": _request("b.example")}),
                _bound_serializers.__dict__.get(Outer),
            )
        )
    )
    thread.start()
    thread.join()
    ((answer, theirs),) = seen
    assert answer["host"] == "b.example"
    assert theirs is not _bound_serializers.__dict__[Outer]
