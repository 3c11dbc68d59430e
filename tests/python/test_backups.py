"""On-demand backups through boto3, on both engines: a backup, writes after it, a restore that
equals the table at backup time (with its GSI), ListBackups, DeleteBackup, and the errors."""

from __future__ import annotations

import botocore.exceptions
import pytest


def _error(excinfo) -> tuple[str, str]:
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def _scan(client, table: str, index: str | None = None) -> list:
    args = {"TableName": table}
    if index:
        args["IndexName"] = index
    items = []
    while True:
        page = client.scan(**args)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=repr)
        args["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_backup_and_restore(client):
    client.create_table(
        TableName="py_backup_src",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "team", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[{"IndexName": "byTeam",
                                 "KeySchema": [{"AttributeName": "team", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(40):
        client.put_item(TableName="py_backup_src",
                        Item={"pk": {"S": f"k{i}"}, "team": {"S": f"t{i % 4}"}, "n": {"N": str(i)}})
    before = _scan(client, "py_backup_src")
    gsi_before = _scan(client, "py_backup_src", "byTeam")

    details = client.create_backup(TableName="py_backup_src", BackupName="py-nightly")["BackupDetails"]
    arn = details["BackupArn"]
    assert details["BackupStatus"] == "CREATING"
    client.put_item(TableName="py_backup_src", Item={"pk": {"S": "late"}, "team": {"S": "t9"}})
    client.delete_item(TableName="py_backup_src", Key={"pk": {"S": "k0"}})

    described = client.describe_backup(BackupArn=arn)["BackupDescription"]
    assert described["BackupDetails"]["BackupStatus"] == "AVAILABLE"
    assert described["SourceTableDetails"]["ItemCount"] == 40
    listed = client.list_backups(TableName="py_backup_src")["BackupSummaries"]
    assert [b["BackupArn"] for b in listed] == [arn]

    restored = client.restore_table_from_backup(TargetTableName="py_backup_copy", BackupArn=arn)
    assert restored["TableDescription"]["RestoreSummary"]["SourceBackupArn"] == arn
    assert _scan(client, "py_backup_copy") == before
    assert _scan(client, "py_backup_copy", "byTeam") == gsi_before

    with pytest.raises(botocore.exceptions.ClientError) as e:
        client.restore_table_from_backup(TargetTableName="py_backup_copy", BackupArn=arn)
    assert _error(e) == ("TableAlreadyExistsException", "Table already exists: py_backup_copy")

    assert client.delete_backup(BackupArn=arn)["BackupDescription"]["BackupDetails"]["BackupStatus"] == "DELETED"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client.describe_backup(BackupArn=arn)
    assert _error(e) == ("BackupNotFoundException", f"Backup not found: {arn}")
    # The restored table does not depend on the backup.
    assert _scan(client, "py_backup_copy") == before

    with pytest.raises(botocore.exceptions.ClientError) as e:
        client.create_backup(TableName="py_backup_absent", BackupName="nope")
    assert _error(e) == ("TableNotFoundException", "Table not found: py_backup_absent")
