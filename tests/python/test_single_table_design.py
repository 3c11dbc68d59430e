"""A single-table e-commerce application on binderdb, written the way boto3 users write it.

One table holds four entity types under generic keys:

    entity       pk               sk                      GSI1PK            GSI1SK
    customer     CUSTOMER#c1      PROFILE                 -                 -
    order        CUSTOMER#c1      ORDER#2026-01-03#o1     STATUS#DELIVERED  2026-01-03#o1
    order item   ORDER#o1         PRODUCT#p1              -                 -
    product      PRODUCT#p1       PRODUCT#p1              -                 -

GSI1 (GSI1PK/GSI1SK, INCLUDE total + customer_name) is a sparse "orders by status, by date"
index: only orders carry its keys. GSI2 (sk/pk, KEYS_ONLY) is the inverted index: product ->
the orders containing it, "PROFILE" -> every customer, an order's sort key -> its customer.
A third index (products by category, then brand and price: a multi-attribute key, projection ALL)
is added online with UpdateTable.

Each test builds its own table, seeds the same catalogue and asserts exact answers: item sets,
orders, counts, capacity. Every test runs on both engines (conftest's `server` fixture). Placing
an order is one transaction (the order, its items and the stock of each product, all or
nothing). DescribeTable's ItemCount is asserted exactly right after
writes: binderdb keeps it live (DynamoDB refreshes it about every six hours).
"""

from __future__ import annotations

import time
from decimal import Decimal

import botocore.exceptions
import pytest
from boto3.dynamodb.conditions import Attr, Key

import support
from test_seed_lesson import run_cli

WAIT = {"Delay": 1, "MaxAttempts": 30}

# ---------------------------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------------------------

CUSTOMERS = {
    "c1": {"name": "Ada Lovelace", "email": "ada@example.com", "tier": "gold"},
    "c2": {"name": "Grace Hopper", "email": "grace@example.com", "tier": "silver"},
    "c3": {"name": "Alan Turing", "email": "alan@example.com", "tier": "silver"},  # no orders
}

# id: (name, category, brand, price, stock)
PRODUCTS = {
    "p1": ("Mechanical keyboard", "peripherals", "Acme", 49, 12),
    "p2": ("Wireless mouse", "peripherals", "Acme", 19, 40),
    "p3": ("27-inch monitor", "displays", "Zenith", 199, 5),
    "p4": ("USB-C cable", "peripherals", "Zenith", 9, 150),
    "p5": ("Desk lamp", "office", "Acme", 35, 8),
}

# id: (customer, date, status, [(product, quantity)])
ORDERS = {
    "o1": ("c1", "2026-01-03", "DELIVERED", [("p1", 1), ("p2", 1)]),
    "o2": ("c1", "2026-01-05", "SHIPPED", [("p3", 1)]),
    "o3": ("c1", "2026-01-12", "PENDING", [("p2", 2), ("p4", 3)]),
    "o4": ("c1", "2026-02-01", "PENDING", [("p5", 1)]),
    "o5": ("c2", "2026-01-04", "PENDING", [("p1", 1)]),
    "o6": ("c2", "2026-01-09", "SHIPPED", [("p4", 1), ("p2", 1)]),
    "o7": ("c2", "2026-01-20", "PENDING", [("p3", 2)]),
    "o8": ("c2", "2026-02-03", "CANCELLED", [("p1", 1)]),
}

N_ORDER_ITEMS = sum(len(lines) for *_rest, lines in ORDERS.values())  # 11
N_ITEMS = len(CUSTOMERS) + len(PRODUCTS) + len(ORDERS) + N_ORDER_ITEMS  # 27

GSI1_INCLUDED = ["total", "customer_name"]


def order_total(order_id: str) -> int:
    return sum(PRODUCTS[p][3] * qty for p, qty in ORDERS[order_id][3])


def order_sk(order_id: str) -> str:
    _customer, date, _status, _lines = ORDERS[order_id]
    return f"ORDER#{date}#{order_id}"


def order_item(order_id: str) -> dict:
    """An order as the resource API writes it (plain Python values)."""
    customer, date, status, lines = ORDERS[order_id]
    return {
        "pk": f"CUSTOMER#{customer}",
        "sk": order_sk(order_id),
        "entity": "order",
        "order_id": order_id,
        "customer_name": CUSTOMERS[customer]["name"],
        "status": status,
        "created": date,
        "total": order_total(order_id),
        "line_count": len(lines),
        "GSI1PK": f"STATUS#{status}",
        "GSI1SK": f"{date}#{order_id}",
    }


def gsi1_entry(order_id: str, status: str | None = None) -> dict:
    """What GSI1 (INCLUDE total, customer_name) returns for an order, as the resource API reads it."""
    customer, date, own_status, _lines = ORDERS[order_id]
    return {
        "pk": f"CUSTOMER#{customer}",
        "sk": order_sk(order_id),
        "GSI1PK": f"STATUS#{status or own_status}",
        "GSI1SK": f"{date}#{order_id}",
        "total": Decimal(order_total(order_id)),
        "customer_name": CUSTOMERS[customer]["name"],
    }


# ---------------------------------------------------------------------------------------------
# Table and seed
# ---------------------------------------------------------------------------------------------

GSI1_KEYS = [
    {"AttributeName": "GSI1PK", "KeyType": "HASH"},
    {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
]
GSI2_KEYS = [
    {"AttributeName": "sk", "KeyType": "HASH"},
    {"AttributeName": "pk", "KeyType": "RANGE"},
]


def create_shop(client, name: str) -> dict:
    """Creates the single table with both GSIs (on demand) and waits for it; returns CreateTable's answer."""
    created = client.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "GSI1PK", "AttributeType": "S"},
            {"AttributeName": "GSI1SK", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "GSI1",
                "KeySchema": GSI1_KEYS,
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": GSI1_INCLUDED},
            },
            {
                "IndexName": "GSI2",
                "KeySchema": GSI2_KEYS,
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig=WAIT)
    return created


def seed(client, resource, name: str):
    """Customers with the low-level PutItem, the rest through the resource API's batch_writer."""
    for cid, c in CUSTOMERS.items():
        client.put_item(
            TableName=name,
            Item={
                "pk": {"S": f"CUSTOMER#{cid}"},
                "sk": {"S": "PROFILE"},
                "entity": {"S": "customer"},
                "customer_id": {"S": cid},
                "name": {"S": c["name"]},
                "email": {"S": c["email"]},
                "tier": {"S": c["tier"]},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
    table = resource.Table(name)
    with table.batch_writer() as batch:
        for pid, (pname, category, brand, price, stock) in PRODUCTS.items():
            batch.put_item(Item={
                "pk": f"PRODUCT#{pid}", "sk": f"PRODUCT#{pid}", "entity": "product",
                "product_id": pid, "name": pname, "category": category, "brand": brand,
                "price": price, "stock": stock,
            })
        for oid, (_customer, _date, _status, lines) in ORDERS.items():
            batch.put_item(Item=order_item(oid))
            for pid, qty in lines:
                batch.put_item(Item={
                    "pk": f"ORDER#{oid}", "sk": f"PRODUCT#{pid}", "entity": "order_item",
                    "quantity": qty, "unit_price": PRODUCTS[pid][3], "product_name": PRODUCTS[pid][0],
                })
    return table


@pytest.fixture
def shop(client, resource, request):
    """A freshly created and seeded shop table named after the test; deleted afterwards."""
    name = "Shop-" + request.node.originalname.removeprefix("test_").replace("_", "-")
    create_shop(client, name)
    table = seed(client, resource, name)
    yield table
    client.delete_table(TableName=name)
    client.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig=WAIT)


def query_all(table, **kwargs) -> list[dict]:
    """Every item of a resource-API query, following LastEvaluatedKey."""
    items, start = [], None
    while True:
        page = table.query(**kwargs, **({"ExclusiveStartKey": start} if start else {}))
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if start is None:
            return items


def gsi_by_name(description: dict) -> dict:
    return {g["IndexName"]: g for g in description.get("GlobalSecondaryIndexes", [])}


def wait_for_index(client, table: str, index: str, timeout: float = 30.0) -> dict:
    """Bounded polling until `index` is ACTIVE and no longer backfilling; returns the description."""
    deadline = time.monotonic() + timeout
    while True:
        description = client.describe_table(TableName=table)["Table"]
        gsi = gsi_by_name(description).get(index)
        if gsi and gsi["IndexStatus"] == "ACTIVE" and not gsi.get("Backfilling", False):
            return description
        assert time.monotonic() < deadline, f"{index} not ACTIVE after {timeout}s: {gsi}"
        time.sleep(0.1)


# ---------------------------------------------------------------------------------------------
# The scenario
# ---------------------------------------------------------------------------------------------


def test_create_table_with_two_gsis(client, resource):
    name = "ShopCreate"
    created = create_shop(client, name)["TableDescription"]
    assert created["TableName"] == name
    assert sorted(gsi_by_name(created)) == ["GSI1", "GSI2"]

    description = client.describe_table(TableName=name)["Table"]
    assert description["TableStatus"] == "ACTIVE"
    assert "LocalSecondaryIndexes" not in description
    gsis = gsi_by_name(description)
    assert sorted(gsis) == ["GSI1", "GSI2"]
    assert gsis["GSI1"]["KeySchema"] == GSI1_KEYS
    assert gsis["GSI1"]["Projection"]["ProjectionType"] == "INCLUDE"
    assert sorted(gsis["GSI1"]["Projection"]["NonKeyAttributes"]) == sorted(GSI1_INCLUDED)
    assert gsis["GSI2"]["KeySchema"] == GSI2_KEYS
    assert gsis["GSI2"]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    for index_name, gsi in gsis.items():
        assert gsi["IndexStatus"] == "ACTIVE"
        assert gsi["IndexArn"] == f"{description['TableArn']}/index/{index_name}"
        assert gsi["ItemCount"] == 0
        assert gsi["IndexSizeBytes"] == 0
    assert sorted((a["AttributeName"], a["AttributeType"]) for a in description["AttributeDefinitions"]) == [
        ("GSI1PK", "S"), ("GSI1SK", "S"), ("pk", "S"), ("sk", "S"),
    ]

    seed(client, resource, name)
    description = client.describe_table(TableName=name)["Table"]
    assert description["ItemCount"] == N_ITEMS
    gsis = gsi_by_name(description)
    # GSI1 is sparse: only the orders carry GSI1PK/GSI1SK. GSI2 is keyed on the table's own
    # key attributes, so every item is in it.
    assert gsis["GSI1"]["ItemCount"] == len(ORDERS)
    assert gsis["GSI2"]["ItemCount"] == N_ITEMS
    assert all(g["IndexStatus"] == "ACTIVE" and g["IndexSizeBytes"] > 0 for g in gsis.values())

    client.delete_table(TableName=name)
    client.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig=WAIT)


def test_customer_profile_and_recent_orders(client, shop):
    name = shop.name
    # One request: the profile (sk "PROFILE" sorts after every "ORDER#...") and the two newest
    # orders, newest first.
    page = client.query(
        TableName=name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "CUSTOMER#c1"}},
        ScanIndexForward=False,
        Limit=3,
    )
    assert [i["sk"]["S"] for i in page["Items"]] == ["PROFILE", order_sk("o4"), order_sk("o3")]
    assert page["Count"] == 3 and page["ScannedCount"] == 3
    profile = page["Items"][0]
    assert profile["name"] == {"S": "Ada Lovelace"}
    assert profile["email"] == {"S": "ada@example.com"}
    assert page["Items"][1]["total"] == {"N": str(order_total("o4"))}
    assert page["LastEvaluatedKey"] == {"pk": {"S": "CUSTOMER#c1"}, "sk": {"S": order_sk("o3")}}

    # The next page of the same query carries on with the older orders.
    rest = client.query(
        TableName=name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "CUSTOMER#c1"}},
        ScanIndexForward=False,
        ExclusiveStartKey=page["LastEvaluatedKey"],
    )
    assert [i["sk"]["S"] for i in rest["Items"]] == [order_sk("o2"), order_sk("o1")]
    assert "LastEvaluatedKey" not in rest

    # Orders only, newest first, with the resource API.
    recent = shop.query(
        KeyConditionExpression=Key("pk").eq("CUSTOMER#c1") & Key("sk").begins_with("ORDER#"),
        ScanIndexForward=False,
        Limit=2,
    )
    assert [i["order_id"] for i in recent["Items"]] == ["o4", "o3"]
    assert recent["Items"][0] == {**order_item("o4"), "total": Decimal(35), "line_count": Decimal(1)}

    # January's orders for c1, oldest first.
    january = shop.query(
        KeyConditionExpression=Key("pk").eq("CUSTOMER#c1") & Key("sk").begins_with("ORDER#2026-01"),
        ProjectionExpression="order_id, #s, #t",
        ExpressionAttributeNames={"#s": "status", "#t": "total"},
    )
    assert january["Items"] == [
        {"order_id": "o1", "status": "DELIVERED", "total": Decimal(68)},
        {"order_id": "o2", "status": "SHIPPED", "total": Decimal(199)},
        {"order_id": "o3", "status": "PENDING", "total": Decimal(65)},
    ]

    # A customer with no orders: just the profile.
    c3 = shop.query(KeyConditionExpression=Key("pk").eq("CUSTOMER#c3"))
    assert [(i["sk"], i["name"]) for i in c3["Items"]] == [("PROFILE", "Alan Turing")]

    # An order's lines: the order's own partition.
    lines = shop.query(KeyConditionExpression=Key("pk").eq("ORDER#o3"))
    assert [(i["sk"], i["quantity"], i["unit_price"]) for i in lines["Items"]] == [
        ("PRODUCT#p2", 2, 19), ("PRODUCT#p4", 3, 9),
    ]


def test_orders_by_status_and_date_via_gsi1(client, shop):
    name = shop.name
    # Pending orders across customers in January, oldest first: GSI1 with BETWEEN on the date.
    january = shop.query(
        IndexName="GSI1",
        KeyConditionExpression=Key("GSI1PK").eq("STATUS#PENDING")
        & Key("GSI1SK").between("2026-01-01", "2026-01-31~"),
    )
    assert january["Items"] == [gsi1_entry("o5"), gsi1_entry("o3"), gsi1_entry("o7")]
    assert january["Count"] == 3 and january["ScannedCount"] == 3
    assert "LastEvaluatedKey" not in january

    # Newest first, with a filter on an INCLUDEd attribute.
    big = shop.query(
        IndexName="GSI1",
        KeyConditionExpression=Key("GSI1PK").eq("STATUS#PENDING"),
        FilterExpression=Attr("total").gte(40),
        ScanIndexForward=False,
    )
    assert [i["sk"] for i in big["Items"]] == [order_sk("o7"), order_sk("o3"), order_sk("o5")]
    assert big["Count"] == 3 and big["ScannedCount"] == 4

    # Select=COUNT: how many orders per status.
    counts = {}
    for status in ("PENDING", "SHIPPED", "DELIVERED", "CANCELLED", "RETURNED"):
        answer = client.query(
            TableName=name, IndexName="GSI1", Select="COUNT",
            KeyConditionExpression="GSI1PK = :s",
            ExpressionAttributeValues={":s": {"S": f"STATUS#{status}"}},
        )
        assert "Items" not in answer
        assert answer["Count"] == answer["ScannedCount"]
        counts[status] = answer["Count"]
    assert counts == {"PENDING": 4, "SHIPPED": 2, "DELIVERED": 1, "CANCELLED": 1, "RETURNED": 0}

    filtered_count = client.query(
        TableName=name, IndexName="GSI1", Select="COUNT",
        KeyConditionExpression="GSI1PK = :s AND begins_with(GSI1SK, :jan)",
        FilterExpression="#t > :t",
        ExpressionAttributeNames={"#t": "total"},
        ExpressionAttributeValues={":s": {"S": "STATUS#PENDING"}, ":jan": {"S": "2026-01"}, ":t": {"N": "60"}},
    )
    assert (filtered_count["Count"], filtered_count["ScannedCount"]) == (2, 3)  # o3 (65), o7 (398)

    # Projected attributes only: the order's status is not in GSI1, the total is.
    projected = client.query(
        TableName=name, IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :s",
        ExpressionAttributeValues={":s": {"S": "STATUS#SHIPPED"}},
        ProjectionExpression="customer_name, #t",
        ExpressionAttributeNames={"#t": "total"},
    )
    assert projected["Items"] == [
        {"customer_name": {"S": "Ada Lovelace"}, "total": {"N": "199"}},
        {"customer_name": {"S": "Grace Hopper"}, "total": {"N": "28"}},
    ]
    # GSI1 does not project ALL: ALL_ATTRIBUTES is refused, as in DynamoDB.
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        client.query(
            TableName=name, IndexName="GSI1", Select="ALL_ATTRIBUTES",
            KeyConditionExpression="GSI1PK = :s",
            ExpressionAttributeValues={":s": {"S": "STATUS#SHIPPED"}},
        )
    assert refused.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported "
                   "for global secondary index GSI1 because its projection type is not ALL",
    }


def test_paginate_gsi1_until_exhausted(client, shop):
    name = shop.name
    expected = [gsi1_entry(o) for o in ("o5", "o3", "o7", "o4")]  # pending, by date

    # By hand: Limit=2 gives 2, 2, then an empty page (DynamoDB returns LastEvaluatedKey when it
    # stops at Limit, even if nothing follows).
    pages, start = [], None
    while True:
        kwargs = {"ExclusiveStartKey": start} if start else {}
        page = shop.query(IndexName="GSI1", KeyConditionExpression=Key("GSI1PK").eq("STATUS#PENDING"),
                          Limit=2, **kwargs)
        pages.append(page)
        start = page.get("LastEvaluatedKey")
        if start is None:
            break
        assert len(pages) < 10, "pagination does not end"
    assert [p["Count"] for p in pages] == [2, 2, 0]
    assert [i for p in pages for i in p["Items"]] == expected
    # The LastEvaluatedKey of an index page carries the index key and the table key.
    assert pages[0]["LastEvaluatedKey"] == {
        "GSI1PK": "STATUS#PENDING", "GSI1SK": "2026-01-12#o3", "pk": "CUSTOMER#c1", "sk": order_sk("o3"),
    }
    assert pages[1]["LastEvaluatedKey"] == {
        "GSI1PK": "STATUS#PENDING", "GSI1SK": "2026-02-01#o4", "pk": "CUSTOMER#c1", "sk": order_sk("o4"),
    }

    # The same with the low-level client's paginator, newest first, three to a page.
    paginator = client.get_paginator("query")
    pages = list(paginator.paginate(
        TableName=name, IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :s",
        ExpressionAttributeValues={":s": {"S": "STATUS#PENDING"}},
        ScanIndexForward=False,
        PaginationConfig={"PageSize": 3},
    ))
    assert [p["Count"] for p in pages] == [3, 1]
    assert [i["GSI1SK"]["S"] for p in pages for i in p["Items"]] == [
        "2026-02-01#o4", "2026-01-20#o7", "2026-01-12#o3", "2026-01-04#o5",
    ]
    built = paginator.paginate(
        TableName=name, IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :s",
        ExpressionAttributeValues={":s": {"S": "STATUS#PENDING"}},
        PaginationConfig={"PageSize": 1},
    ).build_full_result()
    assert [i["sk"]["S"] for i in built["Items"]] == [order_sk(o) for o in ("o5", "o3", "o7", "o4")]
    assert built["Count"] == 4

    # A scan of the sparse GSI1, paginated: exactly the eight orders, nothing else.
    scanned = list(client.get_paginator("scan").paginate(
        TableName=name, IndexName="GSI1", PaginationConfig={"PageSize": 3},
    ))
    assert [p["Count"] for p in scanned] == [3, 3, 2]
    keys = [(i["pk"]["S"], i["sk"]["S"]) for p in scanned for i in p["Items"]]
    assert sorted(keys) == sorted((f"CUSTOMER#{ORDERS[o][0]}", order_sk(o)) for o in ORDERS)
    assert len(set(keys)) == len(ORDERS)
    assert all(set(i) == {"pk", "sk", "GSI1PK", "GSI1SK", "total", "customer_name"}
               for p in scanned for i in p["Items"])
    # Within one index partition, the scan returns entries in index sort-key order.
    pending = [i["GSI1SK"]["S"] for p in scanned for i in p["Items"] if i["GSI1PK"]["S"] == "STATUS#PENDING"]
    assert pending == sorted(pending)


def test_inverted_index_gsi2(client, resource, shop):
    name = shop.name
    # Which orders contain the keyboard (p1)? GSI2 is keyed sk -> pk.
    p1 = shop.query(
        IndexName="GSI2",
        KeyConditionExpression=Key("sk").eq("PRODUCT#p1") & Key("pk").begins_with("ORDER#"),
    )
    # KEYS_ONLY: the table key is all there is (it is also the index key here).
    assert p1["Items"] == [
        {"sk": "PRODUCT#p1", "pk": "ORDER#o1"},
        {"sk": "PRODUCT#p1", "pk": "ORDER#o5"},
        {"sk": "PRODUCT#p1", "pk": "ORDER#o8"},
    ]

    # Without the begins_with the product's own item comes too (pk PRODUCT#p2 sorts after ORDER#).
    p2 = shop.query(IndexName="GSI2", KeyConditionExpression=Key("sk").eq("PRODUCT#p2"),
                    ScanIndexForward=False)
    assert [i["pk"] for i in p2["Items"]] == ["PRODUCT#p2", "ORDER#o6", "ORDER#o3", "ORDER#o1"]

    # Then fetch the order lines in full with BatchGetItem, as an application would.
    got = resource.batch_get_item(RequestItems={name: {"Keys": p2["Items"]}})
    assert got["UnprocessedKeys"] == {}
    lines = {i["pk"]: i for i in got["Responses"][name]}
    assert sorted(lines) == ["ORDER#o1", "ORDER#o3", "ORDER#o6", "PRODUCT#p2"]
    assert lines["ORDER#o3"]["quantity"] == 2
    assert lines["PRODUCT#p2"]["stock"] == 40

    # Every customer: all profiles sit under "PROFILE" in the inverted index.
    customers = client.query(
        TableName=name, IndexName="GSI2",
        KeyConditionExpression="sk = :p",
        ExpressionAttributeValues={":p": {"S": "PROFILE"}},
    )
    assert [i["pk"]["S"] for i in customers["Items"]] == ["CUSTOMER#c1", "CUSTOMER#c2", "CUSTOMER#c3"]
    assert all(set(i) == {"pk", "sk"} for i in customers["Items"])

    # Who placed an order, from its sort key.
    owner = client.query(
        TableName=name, IndexName="GSI2",
        KeyConditionExpression="sk = :o",
        ExpressionAttributeValues={":o": {"S": order_sk("o6")}},
    )
    assert owner["Items"] == [{"sk": {"S": order_sk("o6")}, "pk": {"S": "CUSTOMER#c2"}}]

    # Count how many orders contain each product, with Select=COUNT on GSI2.
    per_product = {
        pid: client.query(
            TableName=name, IndexName="GSI2", Select="COUNT",
            KeyConditionExpression="sk = :p AND begins_with(pk, :o)",
            ExpressionAttributeValues={":p": {"S": f"PRODUCT#{pid}"}, ":o": {"S": "ORDER#"}},
        )["Count"]
        for pid in PRODUCTS
    }
    assert per_product == {"p1": 3, "p2": 3, "p3": 2, "p4": 2, "p5": 1}

    # GSI2 refuses a strongly consistent read, as every GSI does.
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        client.query(TableName=name, IndexName="GSI2", ConsistentRead=True,
                     KeyConditionExpression="sk = :p",
                     ExpressionAttributeValues={":p": {"S": "PROFILE"}})
    assert refused.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "Consistent reads are not supported on global secondary indexes",
    }


def test_sparse_index_holds_only_orders(client, shop):
    name = shop.name
    gsi1 = client.scan(TableName=name, IndexName="GSI1")
    assert gsi1["Count"] == len(ORDERS)
    assert sorted(i["sk"]["S"] for i in gsi1["Items"]) == sorted(order_sk(o) for o in ORDERS)
    table_scan = shop.scan(FilterExpression=Attr("entity").eq("order"), Select="COUNT")
    assert table_scan["Count"] == len(ORDERS) and table_scan["ScannedCount"] == N_ITEMS

    # A new customer and a product: not in GSI1.
    shop.put_item(Item={"pk": "CUSTOMER#c4", "sk": "PROFILE", "entity": "customer", "name": "Edsger Dijkstra"})
    shop.put_item(Item={"pk": "PRODUCT#p6", "sk": "PRODUCT#p6", "entity": "product", "name": "Webcam",
                        "category": "peripherals", "brand": "Zenith", "price": 59, "stock": 3})
    assert client.scan(TableName=name, IndexName="GSI1", Select="COUNT")["Count"] == len(ORDERS)
    # A draft order without a status yet: no GSI1 keys, so not in GSI1 either.
    shop.put_item(Item={"pk": "CUSTOMER#c4", "sk": "ORDER#2026-02-10#o9", "entity": "order",
                        "order_id": "o9", "total": 59})
    assert client.scan(TableName=name, IndexName="GSI1", Select="COUNT")["Count"] == len(ORDERS)
    # ... until it is placed: then it shows up under PENDING.
    shop.update_item(
        Key={"pk": "CUSTOMER#c4", "sk": "ORDER#2026-02-10#o9"},
        UpdateExpression="SET #s = :s, GSI1PK = :pk, GSI1SK = :sk, customer_name = :n",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": "PENDING", ":pk": "STATUS#PENDING", ":sk": "2026-02-10#o9",
                                   ":n": "Edsger Dijkstra"},
    )
    pending = shop.query(IndexName="GSI1", KeyConditionExpression=Key("GSI1PK").eq("STATUS#PENDING"),
                         ScanIndexForward=False, Limit=1)
    assert pending["Items"] == [{"pk": "CUSTOMER#c4", "sk": "ORDER#2026-02-10#o9", "GSI1PK": "STATUS#PENDING",
                                 "GSI1SK": "2026-02-10#o9", "total": Decimal(59),
                                 "customer_name": "Edsger Dijkstra"}]
    # Everything is in GSI2 (keyed on the table's own key attributes).
    gsis = gsi_by_name(client.describe_table(TableName=name)["Table"])
    assert (gsis["GSI1"]["ItemCount"], gsis["GSI2"]["ItemCount"]) == (len(ORDERS) + 1, N_ITEMS + 3)


def test_status_change_moves_order_between_gsi1_partitions(client, shop):
    name = shop.name
    key = {"pk": {"S": "CUSTOMER#c1"}, "sk": {"S": order_sk("o3")}}

    # Ship o3: its GSI1PK moves from STATUS#PENDING to STATUS#SHIPPED. GSI1 pays a delete plus a
    # put; GSI2 (KEYS_ONLY on pk/sk) stores nothing that changed and pays nothing.
    shipped = client.update_item(
        TableName=name, Key=key,
        UpdateExpression="SET #s = :new, GSI1PK = :pk, shipped_on = :d",
        ConditionExpression="#s = :old",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":new": {"S": "SHIPPED"}, ":old": {"S": "PENDING"},
                                   ":pk": {"S": "STATUS#SHIPPED"}, ":d": {"S": "2026-01-13"}},
        ReturnValues="UPDATED_NEW",
        ReturnConsumedCapacity="INDEXES",
    )
    assert shipped["Attributes"] == {"status": {"S": "SHIPPED"}, "GSI1PK": {"S": "STATUS#SHIPPED"},
                                     "shipped_on": {"S": "2026-01-13"}}
    assert shipped["ConsumedCapacity"] == {
        "TableName": name,
        "CapacityUnits": 3.0,
        "Table": {"CapacityUnits": 1.0},
        "GlobalSecondaryIndexes": {"GSI1": {"CapacityUnits": 2.0}},
    }

    def status_partition(status):
        return [i["GSI1SK"] for i in query_all(shop, IndexName="GSI1",
                                               KeyConditionExpression=Key("GSI1PK").eq(f"STATUS#{status}"))]

    assert status_partition("PENDING") == ["2026-01-04#o5", "2026-01-20#o7", "2026-02-01#o4"]
    assert status_partition("SHIPPED") == ["2026-01-05#o2", "2026-01-09#o6", "2026-01-12#o3"]

    # Shipping it again fails its condition and changes nothing anywhere.
    with pytest.raises(botocore.exceptions.ClientError) as again:
        client.update_item(
            TableName=name, Key=key,
            UpdateExpression="SET #s = :new, GSI1PK = :pk",
            ConditionExpression="#s = :old",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":new": {"S": "SHIPPED"}, ":old": {"S": "PENDING"},
                                       ":pk": {"S": "STATUS#SHIPPED"}},
        )
    assert again.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert status_partition("SHIPPED") == ["2026-01-05#o2", "2026-01-09#o6", "2026-01-12#o3"]

    # A change to an attribute no index projects: only the table is written.
    note = client.update_item(
        TableName=name, Key=key,
        UpdateExpression="SET tracking = :t",
        ExpressionAttributeValues={":t": {"S": "1Z999AA10123456784"}},
        ReturnConsumedCapacity="INDEXES",
    )
    assert note["ConsumedCapacity"] == {"TableName": name, "CapacityUnits": 1.0, "Table": {"CapacityUnits": 1.0}}

    # A change to an attribute GSI1 INCLUDEs: GSI1 rewrites the entry in place (one write).
    discount = client.update_item(
        TableName=name, Key=key,
        UpdateExpression="SET #t = #t - :d",
        ExpressionAttributeNames={"#t": "total"},
        ExpressionAttributeValues={":d": {"N": "5"}},
        ReturnConsumedCapacity="INDEXES",
    )
    assert discount["ConsumedCapacity"] == {
        "TableName": name,
        "CapacityUnits": 2.0,
        "Table": {"CapacityUnits": 1.0},
        "GlobalSecondaryIndexes": {"GSI1": {"CapacityUnits": 1.0}},
    }
    entry = shop.query(IndexName="GSI1",
                       KeyConditionExpression=Key("GSI1PK").eq("STATUS#SHIPPED") & Key("GSI1SK").eq("2026-01-12#o3"))
    assert entry["Items"] == [{**gsi1_entry("o3", "SHIPPED"), "total": Decimal(60)}]

    # Deliver o2 and o3 and archive o1: REMOVE of the GSI1 keys takes it out of the sparse index.
    for oid in ("o2", "o3"):
        shop.update_item(
            Key={"pk": "CUSTOMER#c1", "sk": order_sk(oid)},
            UpdateExpression="SET #s = :s, GSI1PK = :pk",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": "DELIVERED", ":pk": "STATUS#DELIVERED"},
        )
    archived = client.update_item(
        TableName=name, Key={"pk": {"S": "CUSTOMER#c1"}, "sk": {"S": order_sk("o1")}},
        UpdateExpression="SET archived = :t REMOVE GSI1PK, GSI1SK",
        ExpressionAttributeValues={":t": {"BOOL": True}},
        ReturnConsumedCapacity="INDEXES",
    )
    assert archived["ConsumedCapacity"] == {
        "TableName": name,
        "CapacityUnits": 2.0,
        "Table": {"CapacityUnits": 1.0},
        "GlobalSecondaryIndexes": {"GSI1": {"CapacityUnits": 1.0}},
    }
    assert status_partition("SHIPPED") == ["2026-01-09#o6"]
    assert status_partition("DELIVERED") == ["2026-01-05#o2", "2026-01-12#o3"]
    # The archived order is still in the table (and in GSI2), just not in GSI1.
    assert shop.get_item(Key={"pk": "CUSTOMER#c1", "sk": order_sk("o1")})["Item"]["archived"] is True
    assert client.scan(TableName=name, IndexName="GSI1", Select="COUNT")["Count"] == len(ORDERS) - 1
    gsis = gsi_by_name(client.describe_table(TableName=name)["Table"])
    assert (gsis["GSI1"]["ItemCount"], gsis["GSI2"]["ItemCount"]) == (len(ORDERS) - 1, N_ITEMS)


def test_new_order_capacity_touches_both_gsis(client, shop):
    name = shop.name
    placed = client.put_item(
        TableName=name,
        Item={
            "pk": {"S": "CUSTOMER#c3"}, "sk": {"S": "ORDER#2026-02-14#o10"}, "entity": {"S": "order"},
            "order_id": {"S": "o10"}, "customer_name": {"S": "Alan Turing"}, "status": {"S": "PENDING"},
            "created": {"S": "2026-02-14"}, "total": {"N": "199"}, "line_count": {"N": "1"},
            "GSI1PK": {"S": "STATUS#PENDING"}, "GSI1SK": {"S": "2026-02-14#o10"},
        },
        ReturnConsumedCapacity="INDEXES",
    )
    assert placed["ConsumedCapacity"] == {
        "TableName": name,
        "CapacityUnits": 3.0,
        "Table": {"CapacityUnits": 1.0},
        "GlobalSecondaryIndexes": {"GSI1": {"CapacityUnits": 1.0}, "GSI2": {"CapacityUnits": 1.0}},
    }
    # TOTAL: the same units, no breakdown. An order line touches GSI2 only.
    line = client.put_item(
        TableName=name,
        Item={"pk": {"S": "ORDER#o10"}, "sk": {"S": "PRODUCT#p3"}, "entity": {"S": "order_item"},
              "quantity": {"N": "1"}, "unit_price": {"N": "199"}},
        ReturnConsumedCapacity="TOTAL",
    )
    assert line["ConsumedCapacity"] == {"TableName": name, "CapacityUnits": 2.0}
    line_again = client.put_item(
        TableName=name,
        Item={"pk": {"S": "ORDER#o10"}, "sk": {"S": "PRODUCT#p3"}, "entity": {"S": "order_item"},
              "quantity": {"N": "1"}, "unit_price": {"N": "199"}, "gift_wrap": {"BOOL": True}},
        ReturnConsumedCapacity="INDEXES",
    )
    # The KEYS_ONLY entry is unchanged by the overwrite: GSI2 is not charged.
    assert line_again["ConsumedCapacity"] == {"TableName": name, "CapacityUnits": 1.0, "Table": {"CapacityUnits": 1.0}}

    # A query on GSI1 reports its capacity under the index.
    read = client.query(
        TableName=name, IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :s AND GSI1SK > :after",
        ExpressionAttributeValues={":s": {"S": "STATUS#PENDING"}, ":after": {"S": "2026-02"}},
        ReturnConsumedCapacity="INDEXES",
    )
    assert [i["sk"]["S"] for i in read["Items"]] == [order_sk("o4"), "ORDER#2026-02-14#o10"]
    assert read["ConsumedCapacity"] == {
        "TableName": name,
        "CapacityUnits": 0.5,
        "Table": {"CapacityUnits": 0.0},
        "GlobalSecondaryIndexes": {"GSI1": {"CapacityUnits": 0.5}},
    }

    description = client.describe_table(TableName=name)["Table"]
    assert description["TableStatus"] == "ACTIVE"
    assert description["ItemCount"] == N_ITEMS + 2
    gsis = gsi_by_name(description)
    assert {n: (g["IndexStatus"], g["ItemCount"]) for n, g in gsis.items()} == {
        "GSI1": ("ACTIVE", len(ORDERS) + 1),
        "GSI2": ("ACTIVE", N_ITEMS + 2),
    }


def place_order(name: str, order_id: str, customer: str, lines: list[tuple[str, int]]) -> list[dict]:
    """The TransactWriteItems that places an order: the customer must exist, the order must be
    new, each line is written and each product's stock must cover its quantity."""
    total = sum(PRODUCTS[pid][3] * qty for pid, qty in lines)
    actions = [
        {"ConditionCheck": {"TableName": name,
                            "Key": {"pk": {"S": f"CUSTOMER#{customer}"}, "sk": {"S": "PROFILE"}},
                            "ConditionExpression": "attribute_exists(pk)"}},
        {"Put": {"TableName": name, "ConditionExpression": "attribute_not_exists(pk)", "Item": {
            "pk": {"S": f"CUSTOMER#{customer}"}, "sk": {"S": f"ORDER#2026-03-01#{order_id}"},
            "entity": {"S": "order"}, "order_id": {"S": order_id}, "status": {"S": "PENDING"},
            "customer_name": {"S": CUSTOMERS[customer]["name"]}, "total": {"N": str(total)},
            "GSI1PK": {"S": "STATUS#PENDING"}, "GSI1SK": {"S": f"2026-03-01#{order_id}"},
        }}},
    ]
    for pid, qty in lines:
        actions.append({"Put": {"TableName": name, "Item": {
            "pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": f"PRODUCT#{pid}"}, "entity": {"S": "order_item"},
            "quantity": {"N": str(qty)}, "unit_price": {"N": str(PRODUCTS[pid][3])},
        }}})
        actions.append({"Update": {
            "TableName": name, "Key": {"pk": {"S": f"PRODUCT#{pid}"}, "sk": {"S": f"PRODUCT#{pid}"}},
            "UpdateExpression": "SET stock = stock - :q", "ConditionExpression": "stock >= :q",
            "ExpressionAttributeValues": {":q": {"N": str(qty)}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }})
    return actions


def stock(shop, pid: str) -> int:
    return int(shop.get_item(Key={"pk": f"PRODUCT#{pid}", "sk": f"PRODUCT#{pid}"},
                             ConsistentRead=True)["Item"]["stock"])


def test_place_order_is_one_transaction(client, shop):
    name = shop.name
    placed = client.transact_write_items(
        TransactItems=place_order(name, "o20", "c2", [("p1", 2), ("p3", 1)]),
        ClientRequestToken="order-o20", ReturnConsumedCapacity="INDEXES")
    # Twice the plain units: the check (1), the order (1 + GSI1 1 + GSI2 1), two lines (1 + GSI2 1
    # each) and two stock updates (1 each; KEYS_ONLY GSI2 entries unchanged), all doubled.
    assert placed["ConsumedCapacity"] == [{
        "TableName": name, "CapacityUnits": 20.0, "Table": {"CapacityUnits": 12.0},
        "GlobalSecondaryIndexes": {"GSI1": {"CapacityUnits": 2.0}, "GSI2": {"CapacityUnits": 6.0}},
    }]
    assert (stock(shop, "p1"), stock(shop, "p3")) == (10, 4)
    pending = query_all(shop, IndexName="GSI1", KeyConditionExpression=Key("GSI1PK").eq("STATUS#PENDING"))
    assert "ORDER#2026-03-01#o20" in [i["sk"] for i in pending]
    # The SDK's retry of the same request (same token) changes nothing.
    again = client.transact_write_items(
        TransactItems=place_order(name, "o20", "c2", [("p1", 2), ("p3", 1)]),
        ClientRequestToken="order-o20")
    assert "ConsumedCapacity" not in again
    assert (stock(shop, "p1"), stock(shop, "p3")) == (10, 4)

    # Not enough monitors: the whole order is refused, with the reason on the stock update.
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        client.transact_write_items(TransactItems=place_order(name, "o21", "c3", [("p2", 1), ("p3", 5)]))
    error = refused.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    assert error["Error"]["Message"] == (
        "Transaction cancelled, please refer cancellation reasons for specific reasons "
        "[None, None, None, None, None, ConditionalCheckFailed]")
    reasons = error["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None"] * 5 + ["ConditionalCheckFailed"]
    assert reasons[5]["Item"]["stock"] == {"N": "4"}
    assert (stock(shop, "p2"), stock(shop, "p3")) == (40, 4)
    assert "Item" not in client.get_item(TableName=name, Key={"pk": {"S": "ORDER#o21"}, "sk": {"S": "PRODUCT#p2"}})

    # Reading an order and its lines in one snapshot.
    got = client.transact_get_items(TransactItems=[
        {"Get": {"TableName": name, "Key": {"pk": {"S": "CUSTOMER#c2"}, "sk": {"S": "ORDER#2026-03-01#o20"}},
                 "ProjectionExpression": "#t", "ExpressionAttributeNames": {"#t": "total"}}},
        {"Get": {"TableName": name, "Key": {"pk": {"S": "ORDER#o20"}, "sk": {"S": "PRODUCT#p1"}}}},
        {"Get": {"TableName": name, "Key": {"pk": {"S": "ORDER#o21"}, "sk": {"S": "PRODUCT#p2"}}}},
    ])
    assert got["Responses"][0] == {"Item": {"total": {"N": str(2 * 49 + 199)}}}
    assert got["Responses"][1]["Item"]["quantity"] == {"N": "2"}
    assert got["Responses"][2] == {}


def test_delete_order_disappears_from_both_gsis(client, shop):
    name = shop.name
    # Cancel-and-purge o6 (c2, SHIPPED, lines p4 and p2): the order with DeleteItem, its lines
    # with batch_writer.
    deleted = client.delete_item(
        TableName=name, Key={"pk": {"S": "CUSTOMER#c2"}, "sk": {"S": order_sk("o6")}},
        ReturnValues="ALL_OLD", ReturnConsumedCapacity="INDEXES",
    )
    assert deleted["Attributes"]["order_id"] == {"S": "o6"}
    assert deleted["ConsumedCapacity"] == {
        "TableName": name,
        "CapacityUnits": 3.0,
        "Table": {"CapacityUnits": 1.0},
        "GlobalSecondaryIndexes": {"GSI1": {"CapacityUnits": 1.0}, "GSI2": {"CapacityUnits": 1.0}},
    }
    lines = shop.query(KeyConditionExpression=Key("pk").eq("ORDER#o6"))["Items"]
    assert [i["sk"] for i in lines] == ["PRODUCT#p2", "PRODUCT#p4"]
    with shop.batch_writer() as batch:
        for line in lines:
            batch.delete_item(Key={"pk": line["pk"], "sk": line["sk"]})

    shipped = shop.query(IndexName="GSI1", KeyConditionExpression=Key("GSI1PK").eq("STATUS#SHIPPED"))
    assert [i["sk"] for i in shipped["Items"]] == [order_sk("o2")]
    assert shop.query(IndexName="GSI2", KeyConditionExpression=Key("sk").eq(order_sk("o6")))["Items"] == []
    p4 = shop.query(IndexName="GSI2", KeyConditionExpression=Key("sk").eq("PRODUCT#p4"))
    assert [i["pk"] for i in p4["Items"]] == ["ORDER#o3", "PRODUCT#p4"]
    p2 = shop.query(IndexName="GSI2", KeyConditionExpression=Key("sk").eq("PRODUCT#p2"))
    assert [i["pk"] for i in p2["Items"]] == ["ORDER#o1", "ORDER#o3", "PRODUCT#p2"]
    c2 = shop.query(KeyConditionExpression=Key("pk").eq("CUSTOMER#c2") & Key("sk").begins_with("ORDER#"))
    assert [i["order_id"] for i in c2["Items"]] == ["o5", "o7", "o8"]

    description = client.describe_table(TableName=name)["Table"]
    assert description["ItemCount"] == N_ITEMS - 3
    gsis = gsi_by_name(description)
    assert (gsis["GSI1"]["ItemCount"], gsis["GSI2"]["ItemCount"]) == (len(ORDERS) - 1, N_ITEMS - 3)

    # Deleting what is already gone touches no index.
    again = client.delete_item(
        TableName=name, Key={"pk": {"S": "CUSTOMER#c2"}, "sk": {"S": order_sk("o6")}},
        ReturnConsumedCapacity="INDEXES",
    )
    assert again["ConsumedCapacity"] == {"TableName": name, "CapacityUnits": 1.0, "Table": {"CapacityUnits": 1.0}}


def add_catalog_index(client, name: str) -> dict:
    """UpdateTable: a third GSI, products by category then brand and price (a multi-attribute
    key: one HASH and two RANGE attributes), projecting ALL."""
    return client.update_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "category", "AttributeType": "S"},
            {"AttributeName": "brand", "AttributeType": "S"},
            {"AttributeName": "price", "AttributeType": "N"},
        ],
        GlobalSecondaryIndexUpdates=[{
            "Create": {
                "IndexName": "GSI3",
                "KeySchema": [
                    {"AttributeName": "category", "KeyType": "HASH"},
                    {"AttributeName": "brand", "KeyType": "RANGE"},
                    {"AttributeName": "price", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
        }],
    )["TableDescription"]


def test_add_third_gsi_online(client, shop):
    name = shop.name
    updated = add_catalog_index(client, name)
    assert updated["TableStatus"] == "UPDATING"
    gsi3 = gsi_by_name(updated)["GSI3"]
    assert gsi3["IndexStatus"] == "CREATING"
    assert gsi3["KeySchema"] == [
        {"AttributeName": "category", "KeyType": "HASH"},
        {"AttributeName": "brand", "KeyType": "RANGE"},
        {"AttributeName": "price", "KeyType": "RANGE"},
    ]
    # A product written while the index is being built must end up in it.
    shop.put_item(Item={"pk": "PRODUCT#p6", "sk": "PRODUCT#p6", "entity": "product", "product_id": "p6",
                        "name": "Webcam", "category": "peripherals", "brand": "Zenith", "price": 59, "stock": 3})
    # ... and one whose price changes must be there with its new price only.
    shop.update_item(Key={"pk": "PRODUCT#p2", "sk": "PRODUCT#p2"}, UpdateExpression="SET price = :p",
                     ExpressionAttributeValues={":p": 17})

    wait_for_index(client, name, "GSI3")
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig=WAIT)
    description = client.describe_table(TableName=name)["Table"]
    assert description["TableStatus"] == "ACTIVE"
    gsis = gsi_by_name(description)
    assert sorted(gsis) == ["GSI1", "GSI2", "GSI3"]
    assert all(g["IndexStatus"] == "ACTIVE" for g in gsis.values())
    # Sparse: only products have category/brand/price.
    assert gsis["GSI3"]["ItemCount"] == len(PRODUCTS) + 1
    assert gsis["GSI3"]["Projection"] == {"ProjectionType": "ALL"}
    assert sorted(a["AttributeName"] for a in description["AttributeDefinitions"]) == [
        "GSI1PK", "GSI1SK", "brand", "category", "pk", "price", "sk",
    ]

    # Peripherals by brand, then price.
    peripherals = shop.query(IndexName="GSI3", KeyConditionExpression="category = :c",
                             ExpressionAttributeValues={":c": "peripherals"})
    assert [(i["brand"], i["price"], i["product_id"]) for i in peripherals["Items"]] == [
        ("Acme", 17, "p2"), ("Acme", 49, "p1"), ("Zenith", 9, "p4"), ("Zenith", 59, "p6"),
    ]
    # ALL projection: the whole item comes back.
    assert peripherals["Items"][0] == {"pk": "PRODUCT#p2", "sk": "PRODUCT#p2", "entity": "product",
                                       "product_id": "p2", "name": "Wireless mouse", "category": "peripherals",
                                       "brand": "Acme", "price": Decimal(17), "stock": Decimal(40)}
    # Equality on every HASH attribute, then the RANGE attributes left to right.
    cheap_acme = client.query(
        TableName=name, IndexName="GSI3",
        KeyConditionExpression="category = :c AND brand = :b AND price BETWEEN :lo AND :hi",
        ExpressionAttributeValues={":c": {"S": "peripherals"}, ":b": {"S": "Acme"},
                                   ":lo": {"N": "10"}, ":hi": {"N": "20"}},
    )
    assert [i["name"]["S"] for i in cheap_acme["Items"]] == ["Wireless mouse"]
    zenith = client.query(
        TableName=name, IndexName="GSI3", ScanIndexForward=False,
        KeyConditionExpression="category = :c AND brand = :b",
        ExpressionAttributeValues={":c": {"S": "peripherals"}, ":b": {"S": "Zenith"}},
    )
    assert [i["price"]["N"] for i in zenith["Items"]] == ["59", "9"]
    # Skipping the first RANGE attribute is refused.
    with pytest.raises(botocore.exceptions.ClientError) as gap:
        client.query(
            TableName=name, IndexName="GSI3",
            KeyConditionExpression="category = :c AND price < :p",
            ExpressionAttributeValues={":c": {"S": "peripherals"}, ":p": {"N": "20"}},
        )
    assert gap.value.response["Error"] == {
        "Code": "ValidationException", "Message": "Query condition missed key schema element: brand",
    }
    # ... and so is a condition after a range condition.
    with pytest.raises(botocore.exceptions.ClientError) as after_range:
        client.query(
            TableName=name, IndexName="GSI3",
            KeyConditionExpression="category = :c AND brand > :b AND price < :p",
            ExpressionAttributeValues={":c": {"S": "peripherals"}, ":b": {"S": "A"}, ":p": {"N": "20"}},
        )
    assert after_range.value.response["Error"] == {
        "Code": "ValidationException", "Message": "Query key condition not supported",
    }
    # The resource API's Key builder chains the three conditions with &.
    built = shop.query(
        IndexName="GSI3",
        KeyConditionExpression=Key("category").eq("peripherals") & Key("brand").eq("Zenith") & Key("price").lt(60),
    )
    assert [i["product_id"] for i in built["Items"]] == ["p4", "p6"]

    # GSI3 is maintained like the others from now on: a new product, a price change, a delete.
    shop.put_item(Item={"pk": "PRODUCT#p7", "sk": "PRODUCT#p7", "entity": "product", "name": "Trackball",
                        "category": "peripherals", "brand": "Acme", "price": 25, "stock": 2})
    shop.delete_item(Key={"pk": "PRODUCT#p1", "sk": "PRODUCT#p1"})
    acme = shop.query(IndexName="GSI3", KeyConditionExpression="category = :c AND brand = :b",
                      ExpressionAttributeValues={":c": "peripherals", ":b": "Acme"})
    assert [(i["name"], i["price"]) for i in acme["Items"]] == [("Wireless mouse", 17), ("Trackball", 25)]
    written = client.put_item(
        TableName=name,
        Item={"pk": {"S": "PRODUCT#p8"}, "sk": {"S": "PRODUCT#p8"}, "entity": {"S": "product"},
              "category": {"S": "office"}, "brand": {"S": "Acme"}, "price": {"N": "12"}},
        ReturnConsumedCapacity="INDEXES",
    )
    assert written["ConsumedCapacity"]["GlobalSecondaryIndexes"] == {
        "GSI2": {"CapacityUnits": 1.0}, "GSI3": {"CapacityUnits": 1.0},
    }
    # The older indexes are untouched by all this.
    assert client.query(TableName=name, IndexName="GSI1", Select="COUNT",
                        KeyConditionExpression="GSI1PK = :s",
                        ExpressionAttributeValues={":s": {"S": "STATUS#PENDING"}})["Count"] == 4


def test_gsi_cannot_be_queried_while_it_is_created(tmp_path):
    """With --create-delay-ms the new index stays CREATING long enough to see DynamoDB's refusal."""
    server = support.Server(in_memory=True, extra_args=["--create-delay-ms", "1500"]).start()
    try:
        client = support.make_client(server.endpoint)
        resource = support.make_resource(server.endpoint)
        name = "ShopSlowIndex"
        create_shop(client, name)
        seed(client, resource, name)
        updated = add_catalog_index(client, name)
        assert gsi_by_name(updated)["GSI3"]["IndexStatus"] == "CREATING"
        during = gsi_by_name(client.describe_table(TableName=name)["Table"])["GSI3"]
        assert during["IndexStatus"] == "CREATING"
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            client.query(TableName=name, IndexName="GSI3", KeyConditionExpression="category = :c",
                         ExpressionAttributeValues={":c": {"S": "office"}})
        assert refused.value.response["Error"] == {
            "Code": "ValidationException",
            "Message": "Cannot read from backfilling global secondary index: GSI3",
        }
        # Written during the creation: must be in the finished index.
        resource.Table(name).put_item(Item={"pk": "PRODUCT#p9", "sk": "PRODUCT#p9", "category": "office",
                                            "brand": "Zenith", "price": 80})
        # The other indexes keep answering meanwhile.
        assert client.query(TableName=name, IndexName="GSI1", Select="COUNT",
                            KeyConditionExpression="GSI1PK = :s",
                            ExpressionAttributeValues={":s": {"S": "STATUS#PENDING"}})["Count"] == 4
        wait_for_index(client, name, "GSI3")
        office = client.query(TableName=name, IndexName="GSI3", KeyConditionExpression="category = :c",
                              ExpressionAttributeValues={":c": {"S": "office"}})
        assert [(i["pk"]["S"], i["brand"]["S"]) for i in office["Items"]] == [
            ("PRODUCT#p5", "Acme"), ("PRODUCT#p9", "Zenith"),
        ]
    finally:
        assert server.stop() == 0


def test_aws_cli_queries_gsi1(client, resource, endpoint, tmp_path):
    name = "ShopCli"
    create_shop(client, name)
    seed(client, resource, name)
    answer = run_cli(
        endpoint, "query", "--table-name", name, "--index-name", "GSI1",
        "--key-condition-expression", "GSI1PK = :s AND begins_with(GSI1SK, :month)",
        "--expression-attribute-values", '{":s": {"S": "STATUS#PENDING"}, ":month": {"S": "2026-01"}}',
        "--no-scan-index-forward",
        tmp_path=tmp_path,
    )
    assert answer["Count"] == 3 and answer["ScannedCount"] == 3
    assert [(i["customer_name"]["S"], i["GSI1SK"]["S"], i["total"]["N"]) for i in answer["Items"]] == [
        ("Grace Hopper", "2026-01-20#o7", "398"),
        ("Ada Lovelace", "2026-01-12#o3", "65"),
        ("Grace Hopper", "2026-01-04#o5", "49"),
    ]
    counted = run_cli(
        endpoint, "query", "--table-name", name, "--index-name", "GSI2", "--select", "COUNT",
        "--key-condition-expression", "sk = :p",
        "--expression-attribute-values", '{":p": {"S": "PROFILE"}}',
        tmp_path=tmp_path,
    )
    assert counted["Count"] == len(CUSTOMERS)
    client.delete_table(TableName=name)
    client.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig=WAIT)


# ---------------------------------------------------------------------------------------------
# A second, small table with an LSI, through the resource API
# ---------------------------------------------------------------------------------------------


def test_lsi_with_resource_api(client, resource):
    """Support tickets per customer: the table sorts by ticket id, the LSI by last update."""
    name = "Tickets"
    table = resource.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "customer", "AttributeType": "S"},
            {"AttributeName": "ticket", "AttributeType": "S"},
            {"AttributeName": "updated", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "customer", "KeyType": "HASH"},
            {"AttributeName": "ticket", "KeyType": "RANGE"},
        ],
        LocalSecondaryIndexes=[{
            "IndexName": "ByUpdated",
            "KeySchema": [
                {"AttributeName": "customer", "KeyType": "HASH"},
                {"AttributeName": "updated", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }],
        BillingMode="PAY_PER_REQUEST",
    )
    table.wait_until_exists()
    lsis = table.local_secondary_indexes
    assert [(i["IndexName"], i["Projection"]) for i in lsis] == [("ByUpdated", {"ProjectionType": "KEYS_ONLY"})]
    assert lsis[0]["IndexArn"] == f"{table.table_arn}/index/ByUpdated"

    tickets = [
        ("c1", "T-001", "2026-01-10T09:00", "open", "Keyboard double-types"),
        ("c1", "T-002", "2026-01-08T12:30", "closed", "Invoice address"),
        ("c1", "T-003", "2026-01-11T16:45", "open", "Monitor flickers"),
        ("c1", "T-004", None, "draft", "Not submitted yet"),  # no 'updated': not in the LSI
        ("c2", "T-005", "2026-01-09T08:15", "open", "Late delivery"),
    ]
    with table.batch_writer() as batch:
        for customer, ticket, updated, state, title in tickets:
            item = {"customer": customer, "ticket": ticket, "state": state, "title": title}
            if updated:
                item["updated"] = updated
            batch.put_item(Item=item)

    # Most recently updated first: the index's default Select is ALL_PROJECTED_ATTRIBUTES (keys).
    recent = table.query(IndexName="ByUpdated", KeyConditionExpression=Key("customer").eq("c1"),
                         ScanIndexForward=False)
    assert recent["Items"] == [
        {"customer": "c1", "ticket": "T-003", "updated": "2026-01-11T16:45"},
        {"customer": "c1", "ticket": "T-001", "updated": "2026-01-10T09:00"},
        {"customer": "c1", "ticket": "T-002", "updated": "2026-01-08T12:30"},
    ]
    # ALL_ATTRIBUTES on an LSI fetches the rest from the table.
    since = table.query(
        IndexName="ByUpdated",
        KeyConditionExpression=Key("customer").eq("c1") & Key("updated").gte("2026-01-09"),
        FilterExpression=Attr("state").eq("open"),
        Select="ALL_ATTRIBUTES",
    )
    assert since["Items"] == [
        {"customer": "c1", "ticket": "T-001", "updated": "2026-01-10T09:00", "state": "open",
         "title": "Keyboard double-types"},
        {"customer": "c1", "ticket": "T-003", "updated": "2026-01-11T16:45", "state": "open",
         "title": "Monitor flickers"},
    ]
    # So does a ProjectionExpression naming a non-projected attribute.
    titles = table.query(IndexName="ByUpdated", KeyConditionExpression=Key("customer").eq("c1"),
                         ProjectionExpression="title")
    assert [i["title"] for i in titles["Items"]] == ["Invoice address", "Keyboard double-types", "Monitor flickers"]
    # Consistent reads are allowed on an LSI.
    consistent = table.query(IndexName="ByUpdated", KeyConditionExpression=Key("customer").eq("c2"),
                             ConsistentRead=True)
    assert consistent["Items"] == [{"customer": "c2", "ticket": "T-005", "updated": "2026-01-09T08:15"}]

    # Touching a ticket moves it in the LSI; the draft is absent until it gets an 'updated'.
    table.update_item(Key={"customer": "c1", "ticket": "T-002"}, UpdateExpression="SET updated = :u, #s = :s",
                      ExpressionAttributeNames={"#s": "state"},
                      ExpressionAttributeValues={":u": "2026-01-12T10:00", ":s": "open"})
    table.update_item(Key={"customer": "c1", "ticket": "T-004"}, UpdateExpression="SET updated = :u",
                      ExpressionAttributeValues={":u": "2026-01-01T00:00"})
    order = table.query(IndexName="ByUpdated", KeyConditionExpression=Key("customer").eq("c1"))
    assert [i["ticket"] for i in order["Items"]] == ["T-004", "T-001", "T-003", "T-002"]
    assert table.query(IndexName="ByUpdated", Select="COUNT",
                       KeyConditionExpression=Key("customer").eq("c1"))["Count"] == 4

    table.delete()
    client.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig=WAIT)
