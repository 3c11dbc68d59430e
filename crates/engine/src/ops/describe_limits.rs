//! DescribeLimits: DynamoDB's default provisioned-capacity quotas of an account and a table
//! in a region. binderdb enforces the per-table one (`capacity::on_demand`), not the account's;
//! clients that size their throughput from this answer get the figures they would get from
//! DynamoDB.

use crate::api::{DescribeLimitsInput, DescribeLimitsOutput};
use crate::error::Result;
use crate::{Database, RequestContext};

/// DynamoDB's default per-account read and write capacity quota.
pub const ACCOUNT_MAX_CAPACITY_UNITS: i64 = 80_000;
/// DynamoDB's default per-table read and write capacity quota.
pub const TABLE_MAX_CAPACITY_UNITS: i64 = 40_000;

impl Database {
    /// DescribeLimits.
    ///
    /// # Errors
    /// None; the signature matches the other operations.
    pub fn describe_limits(
        &self,
        _ctx: &RequestContext,
        _input: DescribeLimitsInput,
    ) -> Result<DescribeLimitsOutput> {
        Ok(DescribeLimitsOutput {
            account_max_read_capacity_units: ACCOUNT_MAX_CAPACITY_UNITS,
            account_max_write_capacity_units: ACCOUNT_MAX_CAPACITY_UNITS,
            table_max_read_capacity_units: TABLE_MAX_CAPACITY_UNITS,
            table_max_write_capacity_units: TABLE_MAX_CAPACITY_UNITS,
        })
    }
}
