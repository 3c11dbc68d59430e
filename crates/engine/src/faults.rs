//! Fault injection by rule, so an application's retry paths can be tested deterministically.
//!
//! A rule names a table and/or an operation (either may be left out to match all), what to
//! inject (an error, a latency, or both) and when: on every matching call, on the Nth one
//! (`nth`), on every Nth (`every`), or at a `rate` drawn from a seeded random source, at most
//! `times` times. Rules come from `binderdb serve --faults FILE` or the `/binderdb/faults`
//! endpoint (see `binderdb_server`), as JSON:
//!
//! ```json
//! {"seed": 7, "rules": [
//!   {"table": "orders", "operation": "PutItem", "error": "ProvisionedThroughputExceededException", "nth": 2},
//!   {"operation": "GetItem", "latency_ms": 50, "rate": 0.1}
//! ]}
//! ```
//!
//! The first rule that fires decides the call; every matching rule counts the call, whether
//! it fires or not. With no rules the check costs one relaxed atomic load.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The errors a rule may inject, with the message each carries by default.
pub const INJECTABLE: &[(&str, &str)] = &[
    (
        "ProvisionedThroughputExceededException",
        crate::capacity::throttle::TABLE_EXCEEDED,
    ),
    (
        "ThrottlingException",
        crate::capacity::throttle::ON_DEMAND_EXCEEDED,
    ),
    (
        "RequestLimitExceeded",
        "Throughput exceeds the current throughput limit for your account. Please contact AWS \
         Support at https://aws.amazon.com/support request a limit increase",
    ),
    (
        "TransactionConflictException",
        "Transaction is ongoing for the item",
    ),
    (
        "InternalServerError",
        "The server encountered an internal error trying to fulfill the request",
    ),
    (
        "ServiceUnavailable",
        "The service is currently unavailable or busy.",
    ),
];

/// One rule, as written in the JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Table name to match (all tables when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// Operation to match, e.g. `PutItem` (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Error code to answer with (one of [`INJECTABLE`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Message instead of the error's usual one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Delay before the call runs (or fails), ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Fire on the Nth matching call only (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nth: Option<u64>,
    /// Fire on every Nth matching call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<u64>,
    /// Fire with this probability (0 to 1), from the seeded random source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Fire at most this many times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
}

/// A rule set, as written in the JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// Seed of the random source of `rate` rules (0 when absent).
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub rules: Vec<FaultRule>,
}

impl FaultConfig {
    /// Parses and checks a rule set.
    ///
    /// # Errors
    /// A description of the first problem (bad JSON, unknown error code, a rule that can
    /// never fire, a rate outside 0..=1).
    pub fn parse(json: &[u8]) -> std::result::Result<Self, String> {
        let config: FaultConfig = serde_json::from_slice(json).map_err(|e| e.to_string())?;
        for (i, rule) in config.rules.iter().enumerate() {
            if let Some(code) = &rule.error {
                if !INJECTABLE.iter().any(|(c, _)| c == code) {
                    let known: Vec<&str> = INJECTABLE.iter().map(|(c, _)| *c).collect();
                    return Err(format!(
                        "rule {i}: unknown error {code:?} (one of {})",
                        known.join(", ")
                    ));
                }
            }
            if rule.error.is_none() && rule.latency_ms.is_none() {
                return Err(format!("rule {i}: names neither an error nor a latency_ms"));
            }
            if rule.rate.is_some_and(|r| !(0.0..=1.0).contains(&r)) {
                return Err(format!("rule {i}: rate must be between 0 and 1"));
            }
            if rule.nth == Some(0) || rule.every == Some(0) {
                return Err(format!("rule {i}: nth and every start at 1"));
            }
        }
        Ok(config)
    }
}

/// What a call gets from the rules.
#[derive(Debug, Default)]
pub struct Injection {
    /// Wait this long first.
    pub latency_ms: u64,
    /// Then fail with this.
    pub error: Option<Error>,
}

#[derive(Debug)]
struct RuleState {
    rule: FaultRule,
    calls: u64,
    fired: u64,
}

/// The rules in force and their counters.
#[derive(Debug, Default)]
pub struct Faults {
    active: AtomicBool,
    rules: Mutex<(Vec<RuleState>, FaultConfig)>,
    rng: AtomicU64,
}

impl Faults {
    /// Replaces the rules (and restarts their counters and the random source).
    pub fn set(&self, config: FaultConfig) {
        let mut rules = self.rules.lock();
        rules.0 = config
            .rules
            .iter()
            .map(|r| RuleState {
                rule: r.clone(),
                calls: 0,
                fired: 0,
            })
            .collect();
        self.rng.store(config.seed, Ordering::Relaxed);
        self.active.store(!rules.0.is_empty(), Ordering::Release);
        rules.1 = config;
    }

    /// The rules in force, with how often each matched and fired.
    pub fn describe(&self) -> serde_json::Value {
        let rules = self.rules.lock();
        serde_json::json!({
            "seed": rules.1.seed,
            "rules": rules.0.iter().map(|s| {
                let mut v = serde_json::to_value(&s.rule).unwrap_or_default();
                v["calls"] = s.calls.into();
                v["fired"] = s.fired.into();
                v
            }).collect::<Vec<_>>(),
        })
    }

    /// Whether any rule is set (one atomic load).
    pub fn active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// What the rules inject into a call of `operation` on `table`.
    pub fn decide(&self, operation: &str, table: Option<&str>) -> Option<Injection> {
        if !self.active() {
            return None;
        }
        let mut rules = self.rules.lock();
        let mut injection = None;
        for state in rules.0.iter_mut() {
            let rule = &state.rule;
            if rule.operation.as_deref().is_some_and(|o| o != operation)
                || rule.table.as_deref().is_some_and(|t| Some(t) != table)
            {
                continue;
            }
            // Every matching rule counts the call, whether an earlier one fired or not.
            state.calls += 1;
            if injection.is_some() || rule.times.is_some_and(|t| state.fired >= t) {
                continue;
            }
            let mut fires = rule.nth.is_none_or(|n| state.calls == n)
                && rule.every.is_none_or(|n| state.calls % n == 0);
            if let Some(rate) = rule.rate {
                // Drawn only when the rest matched, so a seed gives one sequence per rule set.
                fires = fires && self.next_unit() < rate;
            }
            if !fires {
                continue;
            }
            state.fired += 1;
            let error = rule.error.as_ref().map(|code| {
                let message = rule.message.clone().unwrap_or_else(|| {
                    INJECTABLE
                        .iter()
                        .find(|(c, _)| c == code)
                        .map(|(_, m)| (*m).to_owned())
                        .unwrap_or_default()
                });
                Error::Injected {
                    code: code.clone(),
                    message,
                }
            });
            injection = Some(Injection {
                latency_ms: rule.latency_ms.unwrap_or(0),
                error,
            });
        }
        injection
    }

    /// A number in [0, 1) from the seeded source (splitmix64).
    fn next_unit(&self) -> f64 {
        let state = self
            .rng
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Parses a rule file's contents into the database's rules.
///
/// # Errors
/// `ValidationException` describing the problem.
pub fn parse_rules(json: &[u8]) -> Result<FaultConfig> {
    FaultConfig::parse(json).map_err(Error::Validation)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(json: &str) -> Faults {
        let f = Faults::default();
        f.set(FaultConfig::parse(json.as_bytes()).unwrap());
        f
    }

    #[test]
    fn the_nth_call_of_the_named_table_and_operation_fails() {
        let f = faults(
            r#"{"rules":[{"table":"t","operation":"PutItem","error":"InternalServerError","nth":2}]}"#,
        );
        assert!(f.decide("PutItem", Some("t")).is_none());
        assert!(f.decide("PutItem", Some("other")).is_none());
        assert!(f.decide("GetItem", Some("t")).is_none());
        let hit = f.decide("PutItem", Some("t")).unwrap();
        assert!(
            matches!(hit.error, Some(Error::Injected { ref code, .. }) if code == "InternalServerError")
        );
        assert!(f.decide("PutItem", Some("t")).is_none());
    }

    #[test]
    fn a_seeded_rate_repeats_exactly() {
        let json = r#"{"seed":42,"rules":[{"latency_ms":5,"rate":0.3}]}"#;
        let run = || {
            let f = faults(json);
            (0..200)
                .map(|_| f.decide("GetItem", None).is_some())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let hits = a.iter().filter(|h| **h).count();
        assert!((30..90).contains(&hits), "{hits}");
    }

    #[test]
    fn bad_rules_are_refused() {
        assert!(FaultConfig::parse(br#"{"rules":[{"error":"Nope"}]}"#).is_err());
        assert!(FaultConfig::parse(br#"{"rules":[{"table":"t"}]}"#).is_err());
        assert!(FaultConfig::parse(br#"{"rules":[{"latency_ms":1,"rate":2}]}"#).is_err());
        assert!(FaultConfig::parse(br#"{"rules":[{"latency_ms":1,"bogus":2}]}"#).is_err());
    }
}
