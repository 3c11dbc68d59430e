//! CreateTable: semantic checks of the key schema against the attribute definitions and of the
//! billing mode against the throughput, then a new catalog entry in state CREATING.

use binderdb_model::KeyType;

use crate::api::{CreateTableInput, TableDescriptionOutput};
use crate::catalog::{BillingMode, KeyAttribute, KeySchema, TableDescriptor, DESCRIPTOR_FORMAT};
use crate::error::{Error, Result};
use crate::ops::table_name;
use crate::{Database, RequestContext};

/// Parses an `AttributeType` already checked by the server against [B, N, S].
pub(crate) fn parse_key_type(t: Option<&str>) -> Result<KeyType> {
    match t {
        Some("S") => Ok(KeyType::S),
        Some("N") => Ok(KeyType::N),
        Some("B") => Ok(KeyType::B),
        _ => Err(Error::validation(
            "1 validation error detected: Value null at 'attributeDefinitions.1.member.attributeType' \
             failed to satisfy constraint: Member must not be null",
        )),
    }
}

fn invalid(msg: &str) -> Error {
    Error::validation(format!("One or more parameter values were invalid: {msg}"))
}

/// Checks BillingMode against ProvisionedThroughput and returns (mode, read, write).
pub(crate) fn billing(
    mode: Option<&str>,
    throughput: Option<&crate::api::ProvisionedThroughput>,
) -> Result<(BillingMode, i64, i64)> {
    match mode {
        Some("PAY_PER_REQUEST") => {
            if throughput.is_some() {
                return Err(invalid(
                    "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when \
                     BillingMode is PAY_PER_REQUEST",
                ));
            }
            Ok((BillingMode::PayPerRequest, 0, 0))
        }
        _ => match throughput {
            Some(t) => Ok((
                BillingMode::Provisioned,
                t.read_capacity_units.unwrap_or(0),
                t.write_capacity_units.unwrap_or(0),
            )),
            None => Err(invalid(
                "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode \
                 is PROVISIONED",
            )),
        },
    }
}

impl Database {
    /// CreateTable.
    ///
    /// # Errors
    /// `ValidationException` for an inconsistent schema or billing mode, `ResourceInUseException`
    /// if the table exists in the region.
    pub fn create_table(
        &self,
        ctx: &RequestContext,
        input: CreateTableInput,
    ) -> Result<TableDescriptionOutput> {
        let name = table_name(&input.table_name)?.to_owned();
        if input.local_secondary_indexes.is_some() {
            return Err(Error::unsupported("LocalSecondaryIndexes"));
        }
        if input.global_secondary_indexes.is_some() {
            return Err(Error::unsupported("GlobalSecondaryIndexes"));
        }
        if input.stream_specification.is_some() {
            return Err(Error::unsupported("StreamSpecification"));
        }
        let definitions = input.attribute_definitions.unwrap_or_default();
        let key_schema = input.key_schema.unwrap_or_default();

        let mut defs = Vec::with_capacity(definitions.len());
        for d in &definitions {
            let attr = d.attribute_name.clone().unwrap_or_default();
            if defs.iter().any(|(n, _)| *n == attr) {
                // DynamoDB's words, naming the attribute (recorded in ScyllaDB issue 13870).
                return Err(Error::validation(format!(
                    "Attribute Name is duplicated: {attr}"
                )));
            }
            defs.push((attr, parse_key_type(d.attribute_type.as_deref())?));
        }

        let kind = |i: usize| key_schema.get(i).and_then(|k| k.key_type.as_deref());
        let attr = |i: usize| {
            key_schema
                .get(i)
                .and_then(|k| k.attribute_name.clone())
                .unwrap_or_default()
        };
        if kind(0) != Some("HASH") {
            return Err(Error::validation(
                "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
            ));
        }
        if key_schema.len() > 1 {
            if attr(0) == attr(1) {
                return Err(Error::validation(
                    "Both the Hash Key and the Range Key element in the KeySchema have the same name",
                ));
            }
            if kind(1) != Some("RANGE") {
                return Err(Error::validation(
                    "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
                ));
            }
        }
        let key_names: Vec<String> = (0..key_schema.len()).map(attr).collect();
        let lookup = |n: &str| defs.iter().find(|(d, _)| d == n).map(|(_, t)| *t);
        if key_names.iter().any(|n| lookup(n).is_none()) {
            let def_names: Vec<&str> = defs.iter().map(|(n, _)| n.as_str()).collect();
            return Err(invalid(&format!(
                "Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], \
                 AttributeDefinitions: [{}]",
                key_names.join(", "),
                def_names.join(", ")
            )));
        }
        if defs.len() != key_names.len() {
            return Err(invalid(
                "Number of attributes in KeySchema does not exactly match number of attributes \
                 defined in AttributeDefinitions",
            ));
        }
        let (billing_mode, read_capacity, write_capacity) = billing(
            input.billing_mode.as_deref(),
            input.provisioned_throughput.as_ref(),
        )?;

        let hash = KeyAttribute {
            key_type: lookup(&key_names[0]).unwrap_or(KeyType::S),
            name: key_names[0].clone(),
        };
        let range = key_names.get(1).map(|n| KeyAttribute {
            key_type: lookup(n).unwrap_or(KeyType::S),
            name: n.clone(),
        });

        let _ddl = self.catalog.lock_ddl();
        if self.catalog.get(&ctx.region, &name).is_some() {
            return Err(Error::ResourceInUse(format!(
                "Table already exists: {name}"
            )));
        }
        let now = self.clock.now_millis();
        let descriptor = TableDescriptor {
            format: DESCRIPTOR_FORMAT,
            id: self.catalog.allocate_table_id(self.store.as_ref())?,
            uuid: uuid::Uuid::new_v4().to_string(),
            region: ctx.region.clone(),
            name,
            attribute_definitions: defs,
            key_schema: KeySchema { hash, range },
            billing_mode,
            read_capacity,
            write_capacity,
            created_at_ms: now,
            active_at_ms: now + self.config.create_delay_ms,
            updating_until_ms: 0,
            last_pay_per_request_ms: (billing_mode == BillingMode::PayPerRequest).then_some(now),
            last_increase_ms: None,
            last_decrease_ms: None,
            decreases_today: 0,
            deletion_protection: input.deletion_protection_enabled.unwrap_or(false),
            table_class: input.table_class.unwrap_or_else(|| "STANDARD".to_owned()),
        };
        let table = self.catalog.put(self.store.as_ref(), descriptor)?;
        Ok(TableDescriptionOutput {
            table_description: self.describe(&table, Some("CREATING"))?,
        })
    }
}
