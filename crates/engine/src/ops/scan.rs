//! Scan: walk one hash segment of the table (the whole table is segment 0 of 1) in storage
//! order, a page at a time.

use binderdb_storage::{partition_hash, segment_bounds, SegmentScan};

use crate::api::{ReadPageOutput, ScanInput};
use crate::capacity::ReturnCapacity;
use crate::error::{Error, Result};
use crate::expressions::{ExpressionTexts, Expressions};
use crate::legacy;
use crate::ops::read_page::legacy_filter;
use crate::ops::read_page::{page_limit, PageBuilder, ReadShape};
use crate::ops::{table_name, wire_item};
use crate::{Database, RequestContext};

impl Database {
    /// Scan.
    ///
    /// # Errors
    /// `ValidationException` for an invalid start key or segment; `ResourceNotFoundException`.
    pub fn scan(&self, ctx: &RequestContext, input: ScanInput) -> Result<ReadPageOutput> {
        let name = table_name(&input.table_name)?;
        let capacity = ReturnCapacity::parse(input.return_consumed_capacity.as_deref())?;
        legacy::check_not_mixed(
            &[
                ("AttributesToGet", input.attributes_to_get.is_some()),
                ("ScanFilter", input.scan_filter.is_some()),
                ("ConditionalOperator", input.conditional_operator.is_some()),
            ],
            &[
                (
                    "ProjectionExpression",
                    input.projection_expression.is_some(),
                ),
                ("FilterExpression", input.filter_expression.is_some()),
            ],
        )?;
        let mut exprs = Expressions::parse(
            ExpressionTexts {
                filter: input.filter_expression.as_deref(),
                projection: input.projection_expression.as_deref(),
                value_members: "FilterExpression is null",
                ..ExpressionTexts::default()
            },
            input.expression_attribute_names,
            input.expression_attribute_values,
        )?;
        exprs.set_filter(legacy_filter(
            input.scan_filter.as_ref(),
            input.conditional_operator.as_deref(),
            "ScanFilter",
        )?);
        exprs.set_projection(input.attributes_to_get.as_deref())?;
        let mut shape = ReadShape::new(
            &exprs,
            input.select.as_deref(),
            input.attributes_to_get.is_some(),
            false,
            input.index_name.is_some(),
        )?;
        let (segment, total_segments) =
            match (input.segment, input.total_segments) {
                (Some(s), Some(t)) => (s as u32, t as u32),
                (None, None) => (0, 1),
                // The server reports the missing half with DynamoDB's message; defensive here.
                _ => return Err(Error::validation(
                    "The TotalSegments parameter is required but was not present in the request \
                     when Segment parameter is present",
                )),
            };
        let start = input.exclusive_start_key.map(wire_item).transpose()?;
        let (table, descriptor) = self.active_table(ctx, name)?;
        let consistent = input.consistent_read.unwrap_or(false);
        let source = self.read_source(
            &descriptor,
            input.index_name.as_deref(),
            consistent,
            &mut shape,
        )?;
        let start = start
            .map(|k| {
                source.start_key(
                    &k,
                    "The provided starting key is invalid: The provided key element does not \
                     match the schema",
                )
            })
            .transpose()?;
        if let Some((partition, _)) = &start {
            let (low, high) = segment_bounds(segment, total_segments);
            let hash = partition_hash(partition);
            let inside = hash >= low
                && match high {
                    std::ops::Bound::Excluded(h) => hash < h,
                    _ => true,
                };
            if !inside {
                return Err(Error::validation(
                    "The provided Exclusive start key does not map to the provided segment",
                ));
            }
        }
        let key_names = source.page_key_names();
        let mut page = PageBuilder::new(&key_names, page_limit(input.limit), &shape);
        let (keyspace, id) = source.storage();
        let scan = SegmentScan {
            keyspace,
            table: id,
            segment,
            total_segments,
            start_after: start
                .as_ref()
                .map(|(partition, sort)| (partition.as_slice(), sort.as_slice())),
        };
        self.admit_page(&table, &source, None)?;
        self.store.scan(&scan, &mut |entry| page.visit(entry))?;
        self.finish_page(page, &table, &source, capacity, None)
    }
}
