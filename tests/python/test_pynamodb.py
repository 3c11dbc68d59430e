"""PynamoDB against binderdb: a Model with a GSI, an LSI, a version attribute and a TTL attribute,
driven only through PynamoDB's own API (its request shapes: ReturnConsumedCapacity on every
call, its generated placeholders, its version conditions, its batch retries and its parsing of
errors and cancellation reasons).

The models are built per server (PynamoDB binds a model to its host in `Meta`), one table per
module and engine.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from pynamodb.attributes import (
    BinaryAttribute,
    BinarySetAttribute,
    BooleanAttribute,
    DiscriminatorAttribute,
    DynamicMapAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection, LocalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactGet, TransactWrite

import support


def model_meta(endpoint: str, table_name: str, **settings) -> type:
    """A PynamoDB `Meta` for a model on `endpoint` with the suite's dummy credentials; on-demand
    unless `settings` say otherwise."""
    return type("Meta", (), {
        "table_name": table_name,
        "host": endpoint,
        "region": support.REGION,
        "aws_access_key_id": support.CREDENTIAL_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": support.CREDENTIAL_ENV["AWS_SECRET_ACCESS_KEY"],
        **({"billing_mode": "PAY_PER_REQUEST"} if "write_capacity_units" not in settings else {}),
        **settings,
    })


def make_models(endpoint: str, name: str = "pynamo_tickets"):
    """The Ticket model and its indexes, bound to `endpoint`."""

    class ByStatus(GlobalSecondaryIndex):
        class Meta:
            index_name = "by_status"
            projection = AllProjection()

        status = UnicodeAttribute(hash_key=True)
        created = NumberAttribute(range_key=True)

    class ByPriority(LocalSecondaryIndex):
        class Meta:
            index_name = "by_priority"
            projection = KeysOnlyProjection()

        owner = UnicodeAttribute(hash_key=True)
        priority = NumberAttribute(range_key=True)

    class Details(MapAttribute):
        source = UnicodeAttribute()
        retries = NumberAttribute(default=0)

    class Ticket(Model):
        Meta = model_meta(endpoint, name, max_retry_attempts=2)

        owner = UnicodeAttribute(hash_key=True)
        ticket_id = UnicodeAttribute(range_key=True)
        status = UnicodeAttribute(default="open")
        created = NumberAttribute()
        priority = NumberAttribute(default=3)
        title = UnicodeAttribute(null=True)
        labels = UnicodeSetAttribute(null=True)
        comments = ListAttribute(of=UnicodeAttribute, null=True)
        details = Details(null=True)
        views = NumberAttribute(default=0)
        version = VersionAttribute()
        expires = TTLAttribute(null=True)

        by_status = ByStatus()
        by_priority = ByPriority()

    return Ticket


@pytest.fixture(scope="module")
def Ticket(server):
    model = make_models(server.endpoint)
    # create_table also calls UpdateTimeToLive for the TTLAttribute.
    model.create_table(wait=True)
    tickets = [
        model("ada", f"T{n:02}", created=n, status="open" if n % 3 else "closed", priority=n % 5,
              labels={"bug"} if n % 2 else None, views=n)
        for n in range(12)
    ] + [model("grace", f"T{n:02}", created=100 + n, status="open", priority=1) for n in range(3)]
    with model.batch_write() as batch:
        for ticket in tickets:
            batch.save(ticket)
    yield model
    if model.exists():
        model.delete_table()


def connection(endpoint: str) -> Connection:
    return Connection(host=endpoint, region=support.REGION,
                      aws_access_key_id=support.CREDENTIAL_ENV["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=support.CREDENTIAL_ENV["AWS_SECRET_ACCESS_KEY"])


def test_table_description_and_ttl(Ticket, client):
    description = client.describe_table(TableName="pynamo_tickets")["Table"]
    assert description["TableStatus"] == "ACTIVE"
    assert [i["IndexName"] for i in description["GlobalSecondaryIndexes"]] == ["by_status"]
    assert [i["IndexName"] for i in description["LocalSecondaryIndexes"]] == ["by_priority"]
    ttl = client.describe_time_to_live(TableName="pynamo_tickets")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}


def test_save_and_get_round_trip(Ticket):
    ticket = Ticket("lin", "T01", created=7, title="printer", labels={"hw", "office"}, comments=["jammed"],
                    details={"source": "email"}, expires=timedelta(hours=1))
    ticket.save()
    assert ticket.version == 1
    read = Ticket.get("lin", "T01", consistent_read=True)
    assert read.title == "printer"
    assert read.labels == {"hw", "office"}
    assert read.comments == ["jammed"]
    assert read.details.source == "email" and read.details.retries == 0
    assert read.version == 1
    # TTLAttribute stores epoch seconds (a Number, which is what DynamoDB expires on).
    assert abs(read.expires.timestamp() - (time.time() + 3600)) < 120
    with pytest.raises(DoesNotExist):
        Ticket.get("lin", "nope")


def test_update_actions(Ticket):
    ticket = Ticket.get("lin", "T01")
    ticket.update(actions=[
        Ticket.status.set("in_progress"),
        Ticket.views.add(5),
        Ticket.labels.add({"urgent"}),
        Ticket.comments.set(Ticket.comments.append(["called"])),
        Ticket.details.retries.set(Ticket.details.retries + 1),
        Ticket.title.remove(),
    ])
    # update() refreshes the instance from the ALL_NEW answer.
    assert ticket.status == "in_progress"
    assert ticket.views == 5
    assert ticket.labels == {"hw", "office", "urgent"}
    assert ticket.comments == ["jammed", "called"]
    assert ticket.details.retries == 1
    assert ticket.title is None
    assert ticket.version == 2
    stored = Ticket.get("lin", "T01", consistent_read=True)
    assert (stored.status, stored.views, stored.version, stored.title) == ("in_progress", 5, 2, None)


def test_conditional_save_fails_with_put_error(Ticket):
    duplicate = Ticket("lin", "T01", created=0)
    with pytest.raises(PutError) as raised:
        duplicate.save(condition=Ticket.owner.does_not_exist())
    assert raised.value.cause_response_code == "ConditionalCheckFailedException"
    assert raised.value.cause_response_message == "The conditional request failed"
    with pytest.raises(UpdateError) as raised:
        Ticket.get("lin", "T01").update(actions=[Ticket.views.add(1)], condition=Ticket.views > 100)
    assert raised.value.cause_response_code == "ConditionalCheckFailedException"
    with pytest.raises(DeleteError) as raised:
        Ticket.get("lin", "T01").delete(condition=Ticket.status == "closed")
    assert raised.value.cause_response_code == "ConditionalCheckFailedException"


def test_optimistic_locking(Ticket):
    first = Ticket.get("ada", "T01", consistent_read=True)
    second = Ticket.get("ada", "T01", consistent_read=True)
    first.views = 1000
    first.save()
    second.views = 2000
    with pytest.raises(PutError) as raised:
        second.save()
    assert raised.value.cause_response_code == "ConditionalCheckFailedException"
    with pytest.raises(UpdateError):
        second.update(actions=[Ticket.views.add(1)])
    assert Ticket.get("ada", "T01", consistent_read=True).views == 1000
    second.refresh(consistent_read=True)
    second.update(actions=[Ticket.views.add(1)])
    assert Ticket.get("ada", "T01", consistent_read=True).views == 1001


def test_query_table_with_range_condition_and_filter(Ticket):
    found = list(Ticket.query("ada", Ticket.ticket_id.between("T02", "T09"),
                              filter_condition=Ticket.labels.contains("bug") & (Ticket.views > 3)))
    assert [t.ticket_id for t in found] == ["T05", "T07", "T09"]
    newest = list(Ticket.query("ada", Ticket.ticket_id.startswith("T1"), scan_index_forward=False))
    assert [t.ticket_id for t in newest] == ["T11", "T10"]


def test_query_global_index(Ticket):
    closed = list(Ticket.by_status.query("closed", Ticket.created < 10))
    assert [(t.owner, t.ticket_id) for t in closed] == [("ada", "T00"), ("ada", "T03"), ("ada", "T06"), ("ada", "T09")]
    grace = list(Ticket.by_status.query("open", Ticket.created >= 100, filter_condition=Ticket.owner == "grace",
                                        scan_index_forward=False))
    assert [t.ticket_id for t in grace] == ["T02", "T01", "T00"]


def test_query_local_index_keys_only(Ticket):
    urgent = list(Ticket.by_priority.query("ada", Ticket.priority >= 3))
    assert sorted(t.ticket_id for t in urgent) == ["T03", "T04", "T08", "T09"]
    assert [t.priority for t in urgent] == sorted(t.priority for t in urgent)
    # KEYS_ONLY: the table's and the index's keys, nothing else.
    item = next(iter(Ticket.by_priority.query("ada", Ticket.priority == 4)))
    assert (item.owner, item.ticket_id, item.priority) == ("ada", "T04", 4)
    # (PynamoDB fills attributes with defaults, like status and views, in itself.)
    assert item.created is None and item.version is None and item.labels is None


def test_count(Ticket):
    assert Ticket.count("ada") == 12
    assert Ticket.count("ada", Ticket.ticket_id.startswith("T0"), filter_condition=Ticket.status == "closed") == 4
    # ada's open tickets and grace's (lin's T01 is in_progress).
    assert Ticket.by_status.count("open") == 8 + 3
    # Without a hash key PynamoDB reads DescribeTable's ItemCount (ada 12, grace 3, lin 1).
    assert Ticket.count() == 16


def test_pagination_with_last_evaluated_key(Ticket):
    first = Ticket.query("ada", limit=5, page_size=5)
    head = [t.ticket_id for t in first]
    assert head == ["T00", "T01", "T02", "T03", "T04"]
    assert first.last_evaluated_key == {"owner": {"S": "ada"}, "ticket_id": {"S": "T04"}}
    rest = Ticket.query("ada", last_evaluated_key=first.last_evaluated_key, page_size=4)
    assert [t.ticket_id for t in rest] == [f"T{n:02}" for n in range(5, 12)]
    assert rest.last_evaluated_key is None


def test_scan_with_segments_and_rate_limit(Ticket):
    segments = [{(t.owner, t.ticket_id) for t in Ticket.scan(segment=s, total_segments=3)} for s in range(3)]
    everything = set().union(*segments)
    assert sum(len(s) for s in segments) == len(everything) == 16
    limited = list(Ticket.scan(Ticket.owner == "grace", rate_limit=1000, page_size=2))
    assert sorted(t.ticket_id for t in limited) == ["T00", "T01", "T02"]


def test_batch_get_and_batch_delete(Ticket):
    keys = [("ada", "T02"), ("grace", "T01"), ("nobody", "T00")]
    found = sorted((t.owner, t.ticket_id) for t in Ticket.batch_get(keys, consistent_read=True))
    assert found == [("ada", "T02"), ("grace", "T01")]
    with Ticket.batch_write() as batch:
        batch.delete(Ticket("grace", "T02"))
        batch.save(Ticket("grace", "T03", created=103))
    assert [t.ticket_id for t in Ticket.query("grace")] == ["T00", "T01", "T03"]


def test_transact_write_and_get(Ticket, server):
    conn = connection(server.endpoint)
    with TransactWrite(connection=conn, client_request_token="pynamo-1") as tx:
        tx.save(Ticket("hopper", "T01", created=1))
        tx.update(Ticket.get("ada", "T02"), actions=[Ticket.status.set("closed")])
        tx.condition_check(Ticket, "grace", "T00", condition=Ticket.status == "open")
    with TransactGet(connection=conn) as tg:
        new = tg.get(Ticket, "hopper", "T01")
        updated = tg.get(Ticket, "ada", "T02")
    assert new.get().created == 1
    assert updated.get().status == "closed"


def test_transact_write_cancelled(Ticket, server):
    conn = connection(server.endpoint)
    with pytest.raises(TransactWriteError) as raised:
        with TransactWrite(connection=conn) as tx:
            tx.save(Ticket("hopper", "T02", created=2))
            tx.condition_check(Ticket, "grace", "T00", condition=Ticket.status == "closed")
    error = raised.value
    assert error.cause_response_code == "TransactionCanceledException"
    # PynamoDB sends condition checks first, then deletes, puts and updates: the reasons follow
    # the order of the request's TransactItems.
    assert error.cause_response_message == (
        "Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None]")
    assert error.cancellation_reasons[0].code == "ConditionalCheckFailed"
    assert error.cancellation_reasons[0].message == "The conditional request failed"
    assert error.cancellation_reasons[1] is None
    with pytest.raises(DoesNotExist):
        Ticket.get("hopper", "T02", consistent_read=True)


def test_batch_get_resends_unprocessed_keys(server):
    """60 items of 390 KB are more than one BatchGetItem answers (16 MB): the rest comes back in
    UnprocessedKeys, and PynamoDB's batch_get asks for them again until it has every item."""

    class Blob(Model):
        Meta = model_meta(server.endpoint, "pynamo_blobs")

        id = UnicodeAttribute(hash_key=True)
        body = UnicodeAttribute()

    Blob.create_table(wait=True)
    keys = [f"b{n:02}" for n in range(60)]
    with Blob.batch_write() as batch:
        for key in keys:
            batch.save(Blob(key, body=key * 130_000))
    raw = support.make_client(server.endpoint).batch_get_item(
        RequestItems={"pynamo_blobs": {"Keys": [{"id": {"S": key}} for key in keys]}})
    assert 0 < len(raw["Responses"]["pynamo_blobs"]) < 60
    assert len(raw["Responses"]["pynamo_blobs"]) + len(raw["UnprocessedKeys"]["pynamo_blobs"]["Keys"]) == 60
    found = {blob.id: blob.body for blob in Blob.batch_get(keys)}
    assert sorted(found) == keys
    assert all(body == key * 130_000 for key, body in found.items())
    Blob.delete_table()


def test_attribute_types_and_polymorphism(server):
    """Every wire type through PynamoDB's attributes (B and BS unencoded, NS with decimals and
    negatives, BOOL, NULL inside JSON, a dynamic map, a list of maps), set updates, and a
    discriminator picking the subclass back from the stored item."""

    class Thing(Model):
        Meta = model_meta(server.endpoint, "pynamo_things")

        id = UnicodeAttribute(hash_key=True)
        kind = DiscriminatorAttribute()
        blob = BinaryAttribute(legacy_encoding=False, null=True)
        blobs = BinarySetAttribute(legacy_encoding=False, null=True)
        numbers = NumberSetAttribute(null=True)
        flag = BooleanAttribute(null=True)
        document = JSONAttribute(null=True)
        when = UTCDateTimeAttribute(null=True)
        free = DynamicMapAttribute(null=True)
        people = ListAttribute(of=MapAttribute, null=True)

    class Gadget(Thing, discriminator="gadget"):
        extra = UnicodeAttribute(null=True)

    Thing.create_table(wait=True)
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    Gadget(id="g1", blob=b"\x00\xff", blobs={b"a", b"b"}, numbers={1, 2.5, -3}, flag=False,
           document={"x": [1, None, "y"]}, when=when, free={"any": 1, "shape": "x"},
           people=[{"name": "ada"}, {"name": "grace"}], extra="e").save()
    read = Thing.get("g1", consistent_read=True)
    assert isinstance(read, Gadget)
    assert (read.blob, read.blobs, read.numbers, read.flag) == (b"\x00\xff", {b"a", b"b"}, {1, 2.5, -3}, False)
    assert read.document == {"x": [1, None, "y"]}
    assert read.when == when
    assert (read.free.any, read.free.shape) == (1, "x")
    assert [p["name"] for p in read.people] == ["ada", "grace"]

    read.update(actions=[Thing.numbers.delete({1}), Thing.blobs.add({b"c"}), Thing.flag.set(True),
                         Thing.people[0].remove()])
    again = Thing.get("g1", consistent_read=True)
    assert (again.numbers, again.blobs, again.flag) == ({2.5, -3}, {b"a", b"b", b"c"}, True)
    assert [p["name"] for p in again.people] == ["grace"]
    assert [t.id for t in Thing.scan(Thing.numbers.contains(2.5) & (Thing.kind == Gadget))] == ["g1"]
    Thing.delete_table()


def test_delete_table(server):
    model = make_models(server.endpoint, "pynamo_scratch")
    model.create_table(wait=True)
    model("a", "b", created=1).save()
    assert model.exists()
    model.delete_table()
    assert not model.exists()


@pytest.fixture(scope="module")
def throttling_server():
    srv = support.Server(in_memory=True, extra_args=["--throttling"]).start()
    yield srv
    assert srv.stop() == 0, srv.log()


def test_batch_write_resends_unprocessed_items(throttling_server):
    """On a PROVISIONED table of 5 WCU that really throttles (a new bucket holds one second of
    capacity), BatchWriteItem answers most of 15 puts in UnprocessedItems; PynamoDB sends them
    again (and botocore retries a batch refused whole with backoff) until all are written."""

    class Reading(Model):
        Meta = model_meta(throttling_server.endpoint, "pynamo_readings", read_capacity_units=5,
                          write_capacity_units=5, max_retry_attempts=20)

        meter = UnicodeAttribute(hash_key=True)
        at = NumberAttribute(range_key=True)

    Reading.create_table(wait=True)
    raw = support.make_client(throttling_server.endpoint)
    first = raw.batch_write_item(RequestItems={"pynamo_readings": [
        {"PutRequest": {"Item": {"meter": {"S": "probe"}, "at": {"N": str(n)}}}} for n in range(15)]})
    assert len(first["UnprocessedItems"]["pynamo_readings"]) >= 5

    with Reading.batch_write() as batch:
        for at in range(15):
            batch.save(Reading("m1", at))
    assert [r.at for r in Reading.query("m1", consistent_read=True)] == list(range(15))


def test_aws_endpoint_url_alone(server, monkeypatch):
    """A model with no `host` reaches binderdb through AWS_ENDPOINT_URL (botocore's setting),
    as the README promises."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)

    class Plain(Model):
        class Meta:
            table_name = "pynamo_plain"
            region = support.REGION
            billing_mode = "PAY_PER_REQUEST"

        id = UnicodeAttribute(hash_key=True)

    Plain.create_table(wait=True)
    Plain("x").save()
    assert [p.id for p in Plain.scan()] == ["x"]
    assert "pynamo_plain" in support.make_client(server.endpoint).list_tables()["TableNames"]
    Plain.delete_table()
