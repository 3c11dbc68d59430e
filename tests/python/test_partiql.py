"""PartiQL with boto3: the ExecuteStatement, BatchExecuteStatement and ExecuteTransaction calls
the AWS documentation's PartiQL examples show (Music and Orders tables), on both engines."""

from __future__ import annotations

import uuid

import botocore.exceptions
import pytest

WAIT = {"Delay": 1, "MaxAttempts": 30}


def _table(client, name, keys):
    client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": t} for k, t, _ in keys],
        KeySchema=[{"AttributeName": k, "KeyType": kt} for k, _, kt in keys],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig=WAIT)


@pytest.fixture
def music(client):
    name = f"Music-{uuid.uuid4().hex[:8]}"
    _table(client, name, [("Artist", "S", "HASH"), ("SongTitle", "S", "RANGE")])
    return name


@pytest.fixture
def orders(client):
    name = f"Orders-{uuid.uuid4().hex[:8]}"
    _table(client, name, [("OrderID", "N", "HASH")])
    return name


def test_insert_select_update_delete_as_the_docs_show(client, music):
    client.execute_statement(
        Statement=f"INSERT INTO \"{music}\" value {{'Artist' : 'Acme Band','SongTitle' : 'PartiQL Rocks'}}"
    )
    client.execute_statement(
        Statement=f"INSERT INTO \"{music}\" VALUE {{'Artist': ?, 'SongTitle': ?, 'Year': ?}}",
        Parameters=[{"S": "No One You Know"}, {"S": "Call Me Today"}, {"N": "2001"}],
    )
    client.execute_statement(
        Statement=f"UPDATE \"{music}\" SET AwardsWon=1 SET AwardDetail={{'Grammys':[2020, 2018]}} "
        "WHERE Artist='Acme Band' AND SongTitle='PartiQL Rocks'"
    )
    client.execute_statement(
        Statement=f"UPDATE \"{music}\" SET AwardDetail.Grammys =list_append(AwardDetail.Grammys,[2016]) "
        "WHERE Artist='Acme Band' AND SongTitle='PartiQL Rocks'"
    )
    client.execute_statement(
        Statement=f"UPDATE \"{music}\" REMOVE AwardDetail.Grammys[2] "
        "WHERE Artist='Acme Band' AND SongTitle='PartiQL Rocks'"
    )
    client.execute_statement(
        Statement=f"UPDATE \"{music}\" SET AwardDetail.BillBoard=[2020] "
        "WHERE Artist='Acme Band' AND SongTitle='PartiQL Rocks'"
    )
    client.execute_statement(
        Statement=f"UPDATE \"{music}\" SET BandMembers =<<'member1', 'member2'>> "
        "WHERE Artist='Acme Band' AND SongTitle='PartiQL Rocks'"
    )
    answer = client.execute_statement(
        Statement=f"UPDATE \"{music}\" SET BandMembers =set_add(BandMembers, <<'newmember'>>) "
        "WHERE Artist='Acme Band' AND SongTitle='PartiQL Rocks' RETURNING ALL NEW *"
    )
    item = answer["Items"][0]
    assert item["AwardsWon"] == {"N": "1"}
    assert item["AwardDetail"] == {"M": {"Grammys": {"L": [{"N": "2020"}, {"N": "2018"}]},
                                         "BillBoard": {"L": [{"N": "2020"}]}}}
    assert sorted(item["BandMembers"]["SS"]) == ["member1", "member2", "newmember"]

    got = client.execute_statement(
        Statement=f"SELECT * FROM \"{music}\" WHERE Artist=? AND SongTitle=?",
        Parameters=[{"S": "Acme Band"}, {"S": "PartiQL Rocks"}],
        ReturnConsumedCapacity="TOTAL",
    )
    assert got["Items"] == [item]
    assert got["ConsumedCapacity"] == {"TableName": music, "CapacityUnits": 0.5}

    everything = client.execute_statement(Statement=f"SELECT Artist, SongTitle FROM \"{music}\"")
    assert sorted(i["Artist"]["S"] for i in everything["Items"]) == ["Acme Band", "No One You Know"]

    old = client.execute_statement(
        Statement=f"DELETE FROM \"{music}\" WHERE \"Artist\" = 'Acme Band' AND \"SongTitle\" = 'PartiQL Rocks' "
        "RETURNING ALL OLD *"
    )
    assert old["Items"][0]["AwardsWon"] == {"N": "1"}
    gone = client.execute_statement(
        Statement=f"SELECT * FROM \"{music}\" WHERE Artist='Acme Band' AND SongTitle='PartiQL Rocks'"
    )
    assert gone["Items"] == []


def test_select_forms_from_the_docs(client, orders):
    for order_id, total, address in [(1, 100, "7834 24th Ave, Kirkland"), (2, 600, "1 Main St, Seattle"),
                                     (3, 900, "7834 24th St, Redmond"), (100, 50, "12 Pine, Kirkland")]:
        client.put_item(TableName=orders, Item={"OrderID": {"N": str(order_id)}, "Total": {"N": str(total)},
                                                "Address": {"S": address}})
    one = client.execute_statement(Statement=f"SELECT * FROM \"{orders}\" WHERE OrderID = 100")
    assert [i["OrderID"]["N"] for i in one["Items"]] == ["100"]
    listed = client.execute_statement(
        Statement=f"SELECT OrderID, Total FROM \"{orders}\" WHERE OrderID IN [1, 2, 3] ORDER BY OrderID DESC"
    )
    assert listed["Items"] == [
        {"OrderID": {"N": "3"}, "Total": {"N": "900"}},
        {"OrderID": {"N": "2"}, "Total": {"N": "600"}},
        {"OrderID": {"N": "1"}, "Total": {"N": "100"}},
    ]
    big = client.execute_statement(Statement=f"SELECT OrderID, Total FROM \"{orders}\" WHERE Total > 500")
    assert sorted(i["OrderID"]["N"] for i in big["Items"]) == ["2", "3"]
    prefix = client.execute_statement(
        Statement=f"SELECT * FROM \"{orders}\" WHERE OrderID = 1 AND begins_with(Address, '7834 24th')"
    )
    assert len(prefix["Items"]) == 1
    kirkland = client.execute_statement(
        Statement=f"SELECT OrderID FROM \"{orders}\" WHERE contains(Address, 'Kirkland')"
    )
    assert sorted(i["OrderID"]["N"] for i in kirkland["Items"]) == ["1", "100"]
    typed = client.execute_statement(
        Statement=f"SELECT OrderID FROM \"{orders}\" WHERE attribute_type(Total, 'N') AND size(Address) > 18"
    )
    assert sorted(i["OrderID"]["N"] for i in typed["Items"]) == ["1", "3"]

    # Pagination: Limit and NextToken, the loop the docs' examples write.
    seen, token = [], None
    for _ in range(20):
        page = client.execute_statement(Statement=f"SELECT OrderID FROM \"{orders}\"", Limit=1,
                                        **({"NextToken": token} if token else {}))
        seen.extend(i["OrderID"]["N"] for i in page["Items"])
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen, key=int) == ["1", "2", "3", "100"]


def test_errors_as_dynamodb_answers(client, music):
    def error(**kwargs):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            client.execute_statement(**kwargs)
        return e.value.response["Error"]

    insert = f"INSERT INTO \"{music}\" VALUE {{'Artist': 'a', 'SongTitle': 'b'}}"
    client.execute_statement(Statement=insert)
    assert error(Statement=insert) == {"Code": "DuplicateItemException",
                                       "Message": "Duplicate primary key exists in table"}
    assert error(Statement=f"UPDATE \"{music}\" SET x = 1 WHERE Artist = 'a'")["Message"] == (
        "Where clause does not contain a mandatory equality on all key attributes")
    assert error(Statement=f"SELECT * FROM \"{music}\" WHERE")["Message"] == (
        "Statement wasn't well formed, can't be processed: Unexpected end of statement")
    assert error(Statement=f"SELECT * FROM \"{music}\" WHERE Artist = ?", Parameters=[{"S": "a"}, {"S": "b"}])[
        "Message"] == "Number of parameters in request and statement don't match."
    assert error(Statement="SELECT * FROM \"nope\"")["Code"] == "ResourceNotFoundException"


def test_batch_execute_statement(client, music):
    statements = [
        {"Statement": f"INSERT INTO \"{music}\" VALUE {{'Artist': ?, 'SongTitle': ?}}",
         "Parameters": [{"S": "Acme Band"}, {"S": f"Song {i}"}]}
        for i in range(3)
    ]
    statements.append({"Statement": f"INSERT INTO \"{music}\" VALUE {{'Artist': 'Acme Band', 'SongTitle': 'Song 0'}}"})
    written = client.batch_execute_statement(Statements=statements)["Responses"]
    assert [r.get("Error", {}).get("Code") for r in written] == [None, None, None, "DuplicateItem"]
    assert written[3]["Error"]["Message"] == "Duplicate primary key exists in table"
    read = client.batch_execute_statement(Statements=[
        {"Statement": f"SELECT * FROM \"{music}\" WHERE Artist = 'Acme Band' AND SongTitle = 'Song 1'"},
        {"Statement": f"SELECT * FROM \"{music}\" WHERE Artist = 'Acme Band' AND SongTitle = 'Song 9'"},
    ], ReturnConsumedCapacity="TOTAL")
    assert read["Responses"][0]["Item"] == {"Artist": {"S": "Acme Band"}, "SongTitle": {"S": "Song 1"}}
    assert read["Responses"][0]["TableName"] == music
    assert "Item" not in read["Responses"][1]
    assert read["ConsumedCapacity"] == [{"TableName": music, "CapacityUnits": 1.0}]


def test_execute_transaction(client, music):
    token = uuid.uuid4().hex
    stmts = [
        {"Statement": f"INSERT INTO \"{music}\" VALUE {{'Artist': 'T', 'SongTitle': 'one', 'plays': 0}}"},
        {"Statement": f"INSERT INTO \"{music}\" VALUE {{'Artist': 'T', 'SongTitle': 'two', 'plays': 0}}"},
    ]
    client.execute_transaction(TransactStatements=stmts, ClientRequestToken=token)
    # The same token and statements again: a no-op, not a duplicate.
    client.execute_transaction(TransactStatements=stmts, ClientRequestToken=token)
    with pytest.raises(client.exceptions.TransactionCanceledException) as e:
        client.execute_transaction(TransactStatements=[
            {"Statement": f"UPDATE \"{music}\" SET plays = plays + 1 WHERE Artist = 'T' AND SongTitle = 'one'"},
            {"Statement": f"EXISTS(SELECT * FROM \"{music}\" WHERE Artist = 'T' AND SongTitle = 'two' AND plays > 5)"},
        ])
    reasons = [r["Code"] for r in e.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    read = client.execute_transaction(TransactStatements=[
        {"Statement": f"SELECT plays FROM \"{music}\" WHERE Artist = 'T' AND SongTitle = 'one'"},
        {"Statement": f"SELECT * FROM \"{music}\" WHERE Artist = 'T' AND SongTitle = 'none'"},
    ])
    assert read["Responses"] == [{"Item": {"plays": {"N": "0"}}}, {}]
