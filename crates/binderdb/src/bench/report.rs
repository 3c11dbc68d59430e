//! Measurement and output: per-connection [`Recorder`]s merged into one [`Summary`], printed as
//! a human table and as one JSON line for scripts.
//!
//! Latencies are recorded in microseconds in an HDR histogram (1 µs to 60 s, 3 significant
//! digits, so a percentile is within 0.1 %); only successful requests enter it. Errors are
//! counted by their DynamoDB error code (the `__type` after `#`), or `ConnectionError`.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

/// The longest latency the histogram holds exactly, in microseconds; longer ones saturate.
const MAX_LATENCY_US: u64 = 60_000_000;

/// What one connection saw during the measured window.
#[derive(Debug, Clone)]
pub struct Recorder {
    latency_us: Histogram<u64>,
    ops: u64,
    errors: BTreeMap<String, u64>,
}

impl Recorder {
    /// An empty recorder.
    ///
    /// # Errors
    /// Never in practice: the histogram bounds are constants.
    pub fn new() -> Result<Recorder, String> {
        let latency_us = Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
            .map_err(|e| format!("cannot create histogram: {e}"))?;
        Ok(Recorder {
            latency_us,
            ops: 0,
            errors: BTreeMap::new(),
        })
    }

    /// Records one successful request.
    pub fn ok(&mut self, latency: Duration) {
        self.ops += 1;
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_us.saturating_record(us.max(1));
    }

    /// Records one failed request by its error code.
    pub fn error(&mut self, code: &str) {
        match self.errors.get_mut(code) {
            Some(n) => *n += 1,
            None => {
                self.errors.insert(code.to_owned(), 1);
            }
        }
    }

    /// Successful requests that took longer than `limit`.
    pub fn count_over(&self, limit: Duration) -> u64 {
        let us = u64::try_from(limit.as_micros()).unwrap_or(u64::MAX);
        self.latency_us
            .len()
            .saturating_sub(self.latency_us.count_between(0, us))
    }

    /// Adds `other`'s counts to this one.
    pub fn merge(&mut self, other: &Recorder) {
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency_us.add(&other.latency_us);
        self.ops += other.ops;
        for (code, n) in &other.errors {
            *self.errors.entry(code.clone()).or_insert(0) += n;
        }
    }
}

/// The result of one bench run.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The workload's name.
    pub workload: String,
    /// Concurrent connections.
    pub connections: u32,
    /// The measured window, in seconds.
    pub duration_s: f64,
    /// Successful requests in the window.
    pub ops: u64,
    /// `ops / duration_s`.
    pub ops_per_s: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// 99.9th percentile latency, ms.
    pub p999_ms: f64,
    /// Slowest request, ms.
    pub max_ms: f64,
    /// Failed requests by error code.
    pub errors: BTreeMap<String, u64>,
}

impl Summary {
    /// Summarises `recorder` over a window of `duration`.
    pub fn new(
        workload: &str,
        connections: u32,
        duration: Duration,
        recorder: &Recorder,
    ) -> Summary {
        let duration_s = duration.as_secs_f64();
        let h = &recorder.latency_us;
        let ms = |us: u64| us as f64 / 1000.0;
        let quantile = |q: f64| {
            if h.is_empty() {
                0.0
            } else {
                ms(h.value_at_quantile(q))
            }
        };
        Summary {
            workload: workload.to_owned(),
            connections,
            duration_s,
            ops: recorder.ops,
            ops_per_s: if duration_s > 0.0 {
                recorder.ops as f64 / duration_s
            } else {
                0.0
            },
            p50_ms: quantile(0.5),
            p99_ms: quantile(0.99),
            p999_ms: quantile(0.999),
            max_ms: if h.is_empty() { 0.0 } else { ms(h.max()) },
            errors: recorder.errors.clone(),
        }
    }

    /// The human-readable table.
    pub fn table(&self) -> String {
        format!(
            "workload     {}\n\
             connections  {}\n\
             duration     {:.2} s\n\
             requests     {} ok\n\
             throughput   {:.0} ops/s\n\
             latency ms   p50 {:.3}   p99 {:.3}   p99.9 {:.3}   max {:.3}\n\
             errors       {}",
            self.workload,
            self.connections,
            self.duration_s,
            self.ops,
            self.ops_per_s,
            self.p50_ms,
            self.p99_ms,
            self.p999_ms,
            self.max_ms,
            self.error_list(),
        )
    }

    /// One human-readable line for an interval from `start` to `end` into the measured window.
    pub fn interval_line(&self, start: Duration, end: Duration) -> String {
        format!(
            "{:7.2}-{:.2} s  {:>9.0} ops/s  p50 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3} ms  errors {}",
            start.as_secs_f64(),
            end.as_secs_f64(),
            self.ops_per_s,
            self.p50_ms,
            self.p99_ms,
            self.p999_ms,
            self.max_ms,
            self.error_list(),
        )
    }

    fn error_list(&self) -> String {
        if self.errors.is_empty() {
            return "none".to_owned();
        }
        self.errors
            .iter()
            .map(|(code, n)| format!("{code}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The one-line JSON form: `{"workload":..,"connections":..,"duration_s":..,"ops":..,
    /// "ops_per_s":..,"p50_ms":..,"p99_ms":..,"p999_ms":..,"max_ms":..,"errors":{..}}`.
    pub fn json_line(&self) -> String {
        format!(
            r#"{{"workload":{},"connections":{},"duration_s":{},{}}}"#,
            serde_json::Value::from(self.workload.as_str()),
            self.connections,
            serde_json::Value::from(round(self.duration_s)),
            self.json_figures(),
        )
    }

    /// The JSON form of an interval from `start` to `end` into the measured window:
    /// `{"interval_start_s":..,"interval_end_s":..,"ops":..,"ops_per_s":..,"p50_ms":..,
    /// "p99_ms":..,"p999_ms":..,"max_ms":..,"errors":{..}}` (no `workload`, so scripts can tell
    /// it from the summary line).
    pub fn interval_json_line(&self, start: Duration, end: Duration) -> String {
        format!(
            r#"{{"interval_start_s":{},"interval_end_s":{},{}}}"#,
            serde_json::Value::from(round(start.as_secs_f64())),
            serde_json::Value::from(round(end.as_secs_f64())),
            self.json_figures(),
        )
    }

    /// `"ops":..,` through `"errors":{..}`, in this order.
    fn json_figures(&self) -> String {
        // Built by hand to keep this key order; serde_json::Map would sort the keys.
        let errors = serde_json::Value::Object(
            self.errors
                .iter()
                .map(|(code, n)| (code.clone(), serde_json::Value::from(*n)))
                .collect(),
        );
        format!(
            r#""ops":{},"ops_per_s":{},"p50_ms":{},"p99_ms":{},"p999_ms":{},"max_ms":{},"errors":{}"#,
            self.ops,
            serde_json::Value::from((self.ops_per_s * 10.0).round() / 10.0),
            serde_json::Value::from(round(self.p50_ms)),
            serde_json::Value::from(round(self.p99_ms)),
            serde_json::Value::from(round(self.p999_ms)),
            serde_json::Value::from(round(self.max_ms)),
            errors,
        )
    }
}

/// Rounds to three decimals (microseconds, for milliseconds and seconds).
fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_recorders_summarise_to_a_json_line() {
        let mut a = Recorder::new().unwrap();
        let mut b = Recorder::new().unwrap();
        for us in 1..=1000u64 {
            a.ok(Duration::from_micros(us));
        }
        b.ok(Duration::from_millis(50));
        b.error("ProvisionedThroughputExceededException");
        b.error("ProvisionedThroughputExceededException");
        a.error("ConnectionError");
        a.merge(&b);
        let s = Summary::new("get", 4, Duration::from_secs(2), &a);
        assert_eq!(s.ops, 1001);
        assert!((s.ops_per_s - 500.5).abs() < 1e-9);
        assert!((s.p50_ms - 0.5).abs() < 0.01, "{}", s.p50_ms);
        assert!((s.max_ms - 50.0).abs() < 0.1, "{}", s.max_ms);
        let v: serde_json::Value = serde_json::from_str(&s.json_line()).unwrap();
        assert_eq!(v["workload"], "get");
        assert_eq!(v["connections"], 4);
        assert_eq!(v["ops"], 1001);
        assert_eq!(v["errors"]["ProvisionedThroughputExceededException"], 2);
        assert_eq!(v["errors"]["ConnectionError"], 1);
        assert!(s
            .json_line()
            .starts_with(r#"{"workload":"get","connections":4,"duration_s":2.0,"ops":1001,"#));
        assert!(s
            .table()
            .contains("ProvisionedThroughputExceededException: 2"));
    }

    #[test]
    fn interval_lines_name_their_span() {
        let mut r = Recorder::new().unwrap();
        r.ok(Duration::from_micros(700));
        r.error("ThrottlingException");
        let s = Summary::new("put", 2, Duration::from_millis(500), &r);
        let v: serde_json::Value = serde_json::from_str(
            &s.interval_json_line(Duration::from_millis(1500), Duration::from_secs(2)),
        )
        .unwrap();
        assert_eq!(v["interval_start_s"], 1.5);
        assert_eq!(v["interval_end_s"], 2.0);
        assert_eq!(v["ops"], 1);
        assert_eq!(v["ops_per_s"], 2.0);
        assert_eq!(v["errors"]["ThrottlingException"], 1);
        assert!(v.get("workload").is_none(), "{v}");
        let line = s.interval_line(Duration::from_millis(1500), Duration::from_secs(2));
        assert!(line.trim_start().starts_with("1.50-2.00 s"), "{line}");
        assert!(line.contains("ThrottlingException: 1"), "{line}");
    }

    #[test]
    fn an_empty_run_has_zero_latencies() {
        let s = Summary::new("put", 1, Duration::from_secs(1), &Recorder::new().unwrap());
        assert_eq!((s.ops, s.p50_ms, s.max_ms), (0, 0.0, 0.0));
        assert!(s.json_line().ends_with(r#""errors":{}}"#));
    }
}
