//! GetItem: one point read, billed per started 4 KB (half when eventually consistent).

use binderdb_model::{item_size, Item};
use binderdb_storage::Key;

use crate::api::{GetItemInput, GetItemOutput};
use crate::capacity::{read_units, ReturnCapacity};
use crate::error::Result;
use crate::keys::request_key;
use crate::ops::{decode, read_projection, table_name, wire_item};
use crate::{Database, RequestContext};

impl Database {
    /// GetItem.
    ///
    /// # Errors
    /// `ValidationException` for a key that does not match the schema;
    /// `ResourceNotFoundException`.
    pub fn get_item(&self, ctx: &RequestContext, input: GetItemInput) -> Result<GetItemOutput> {
        let name = table_name(&input.table_name)?;
        let capacity = ReturnCapacity::parse(input.return_consumed_capacity.as_deref())?;
        let projection = read_projection(
            input.projection_expression.as_deref(),
            input.attributes_to_get.as_deref(),
            input.expression_attribute_names,
        )?;
        let key_item = wire_item(input.key.unwrap_or_default())?;
        let (table, descriptor) = self.active_table(ctx, name)?;
        let key = request_key(&descriptor.key_schema, &key_item)?.storage_key(descriptor.id);
        let (item, units) = self.metered_read(
            &table,
            &descriptor,
            &key,
            input.consistent_read.unwrap_or(false),
        )?;
        // The whole item is read (and billed); the projection only shapes the response.
        Ok(GetItemOutput {
            item: match (item, &projection) {
                (Some(item), Some(p)) => Some(p.apply(&item)),
                (item, _) => item,
            },
            consumed_capacity: capacity.report(name, units),
        })
    }

    /// Reads the item at `key` and what the read costs (a missing item costs as much as a small
    /// one). Shared by GetItem and BatchGetItem, which bills every key this way.
    ///
    /// # Errors
    /// Storage failures; an undecodable stored item.
    pub(crate) fn read_item(&self, key: &Key, consistent: bool) -> Result<(Option<Item>, f64)> {
        let mut item = self.store.get(key)?.map(|v| decode(&v.value)).transpose()?;
        if !consistent && self.history.enabled() {
            let moment = self.history.read_moment(self.clock.now_millis());
            if let Some(old) = self.history.as_of(key, moment) {
                item = old;
            }
        }
        let size = item.as_ref().map_or(0, item_size);
        Ok((item, read_units(size, consistent)))
    }
}
