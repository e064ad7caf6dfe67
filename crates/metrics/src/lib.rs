//! plangraf's metrics: one small registry per running instance ([`Metrics`], cheap to clone),
//! the places that count call it, and `/metrics` renders it in the Prometheus text exposition
//! format, version 0.0.4 ([`Metrics::render`]).
//!
//! Every label value comes from a closed set: an enum here ([`SignInFailure`], [`Channel`],
//! [`EisOperation`], the send's final state), an HTTP method and status class reduced to a few
//! words, or a route *template* of the router (`/plans/{id}`), never a path, a login or anything
//! else a caller typed. The number of route templates kept is bounded as well
//! ([`MAX_ROUTES`]), so a caller that passed raw paths by mistake could not grow the registry
//! without end.
//!
//! Hand-written rather than a metrics crate: a few counters and histograms behind atomics and
//! mutexes, and a writer of some forty lines, are less than the dependency would be.

use domain::SendStatus;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds (seconds) of the buckets of ЕИС's round trips: 50 ms to the client's 60 s read timeout.
pub const EIS_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0];

/// Upper bounds (seconds) of the buckets of HTTP requests served.
pub const HTTP_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The most route templates the HTTP histogram keeps apart; requests of any further one are
/// counted under [`OTHER_ROUTE`]. The router has about 70.
pub const MAX_ROUTES: usize = 256;

/// The route label of requests no route matched, and of routes past [`MAX_ROUTES`].
pub const OTHER_ROUTE: &str = "other";

/// Why a sign-in failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInFailure {
    /// A wrong password, an unknown login or a blocked user (the three look alike to the caller).
    WrongPassword,
    /// Refused without checking the password: too many failures before (throttling).
    Throttled,
    /// A certificate sign-in (ЭЦП) refused: its signature, certificate, challenge or binding.
    Certificate,
}

impl SignInFailure {
    const ALL: [SignInFailure; 3] =
        [SignInFailure::WrongPassword, SignInFailure::Throttled, SignInFailure::Certificate];

    fn code(self) -> &'static str {
        match self {
            SignInFailure::WrongPassword => "wrong_password",
            SignInFailure::Throttled => "throttled",
            SignInFailure::Certificate => "certificate",
        }
    }
}

/// How a notification reached its user, counted where it leaves plangraf. In-app notifications
/// are rows of the database, written in the event's own transaction; they are not counted here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// By e-mail: handed to the SMTP server.
    Email,
}

impl Channel {
    const ALL: [Channel; 1] = [Channel::Email];

    fn code(self) -> &'static str {
        match self {
            Channel::Email => "email",
        }
    }
}

/// One kind of HTTPS call of the exchange to ЕИС.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EisOperation {
    /// A packet uploaded (`/44fz/integration/upload`).
    Upload,
    /// A packet's status asked (`/44fz/integration/status`); also the check of credentials.
    Status,
    /// Whether drafts were placed (`fcsDocProjectStatusRequest`, through the upload endpoint).
    DocProjectStatus,
    /// A placed plan's export (`/44fz/integration/export`).
    Export,
}

impl EisOperation {
    const ALL: [EisOperation; 4] =
        [EisOperation::Upload, EisOperation::Status, EisOperation::DocProjectStatus, EisOperation::Export];

    fn code(self) -> &'static str {
        match self {
            EisOperation::Upload => "upload",
            EisOperation::Status => "status",
            EisOperation::DocProjectStatus => "doc_project_status",
            EisOperation::Export => "export",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|o| *o == self).unwrap_or(0)
    }
}

/// A send's final state: one the runner does no more work for. Loaded is not one (the runner
/// watches for the placement), nor are queued and processing.
pub fn is_final(status: SendStatus) -> bool {
    !status.is_active() && status != SendStatus::Loaded
}

/// The states counted as the send queue's depth: those the runner still works on.
pub const QUEUE_STATES: [SendStatus; 3] = [SendStatus::Queued, SendStatus::Processing, SendStatus::Loaded];

/// The sends in one state of the queue, read from the database when `/metrics` is scraped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueDepth {
    pub state: SendStatus,
    pub count: u64,
    /// How long ago the oldest of them was requested; `None` when there are none.
    pub oldest: Option<Duration>,
}

/// A histogram with fixed buckets; guarded by its family's mutex.
#[derive(Debug, Clone)]
struct Histogram {
    bounds: &'static [f64],
    /// Per bucket, not cumulative; the last is `+Inf`.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Histogram {
        Histogram { bounds, counts: vec![0; bounds.len() + 1], sum: 0.0, count: 0 }
    }

    fn observe(&mut self, seconds: f64) {
        let seconds = if seconds.is_finite() && seconds >= 0.0 { seconds } else { 0.0 };
        let i = self.bounds.iter().position(|b| seconds <= *b).unwrap_or(self.bounds.len());
        self.counts[i] += 1;
        self.sum += seconds;
        self.count += 1;
    }

    fn write(&self, out: &mut String, name: &str, labels: &[(&str, &str)]) {
        let mut cumulative = 0;
        for (i, n) in self.counts.iter().enumerate() {
            cumulative += n;
            let le = self.bounds.get(i).map_or_else(|| "+Inf".to_owned(), |b| b.to_string());
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            sample(out, &format!("{name}_bucket"), &with_le, cumulative);
        }
        sample(out, &format!("{name}_sum"), labels, self.sum);
        sample(out, &format!("{name}_count"), labels, self.count);
    }
}

/// The HTTP method as a label: the usual ones by name, anything else `other`.
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

type HttpKey = (String, &'static str, &'static str);

struct Inner {
    started: SystemTime,
    sign_in_failures: [AtomicU64; 3],
    notifications: [AtomicU64; 2],
    /// Indexed like [`SendStatus::ALL`]; only final states are counted.
    send_outcomes: [AtomicU64; 9],
    eis: [Mutex<Histogram>; 4],
    http: Mutex<BTreeMap<HttpKey, Histogram>>,
}

/// The metrics of one plangraf instance. Cheap to clone; clones count into the same registry.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics { .. }")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// A poisoned mutex still holds sound counts: a panic elsewhere must not stop the counting.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Metrics {
    /// A fresh registry; the process start time is now.
    pub fn new() -> Metrics {
        Metrics {
            inner: Arc::new(Inner {
                started: SystemTime::now(),
                sign_in_failures: Default::default(),
                notifications: Default::default(),
                send_outcomes: Default::default(),
                eis: std::array::from_fn(|_| Mutex::new(Histogram::new(EIS_BUCKETS))),
                http: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// A sign-in was refused.
    pub fn sign_in_failed(&self, why: SignInFailure) {
        let i = SignInFailure::ALL.iter().position(|w| *w == why).unwrap_or(0);
        self.inner.sign_in_failures[i].fetch_add(1, Ordering::Relaxed);
    }

    /// A notification was delivered to a user through `channel`: call it once per notification
    /// and channel, after the delivery (an e-mail: after the SMTP server accepted it).
    pub fn notification_sent(&self, channel: Channel) {
        let i = Channel::ALL.iter().position(|c| *c == channel).unwrap_or(0);
        self.inner.notifications[i].fetch_add(1, Ordering::Relaxed);
    }

    /// A send reached `status`; counted when it is final ([`is_final`]), ignored otherwise.
    pub fn send_ended(&self, status: SendStatus) {
        if !is_final(status) {
            return;
        }
        if let Some(i) = SendStatus::ALL.iter().position(|s| *s == status) {
            self.inner.send_outcomes[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One HTTPS call to ЕИС took `took`, from sending the request to reading the whole reply
    /// (or to the failure).
    pub fn eis_call(&self, operation: EisOperation, took: Duration) {
        lock(&self.inner.eis[operation.index()]).observe(took.as_secs_f64());
    }

    /// One HTTP request served. `route` must be the router's template (`/plans/{id}`), or
    /// `None` when no route matched; `method` and `status` are reduced to bounded labels.
    pub fn http_request(&self, route: Option<&str>, method: &str, status: u16, took: Duration) {
        let method = method_label(method);
        let class = status_class(status);
        let mut http = lock(&self.inner.http);
        let route = match route {
            Some(r) if r.len() <= 200 => r,
            _ => OTHER_ROUTE,
        };
        let key = (route.to_owned(), method, class);
        let known_routes = || http.keys().map(|k| &k.0).collect::<std::collections::BTreeSet<_>>().len();
        let key = if http.contains_key(&key) || http.keys().any(|k| k.0 == route) || known_routes() < MAX_ROUTES {
            key
        } else {
            (OTHER_ROUTE.to_owned(), method, class)
        };
        http.entry(key).or_insert_with(|| Histogram::new(HTTP_BUCKETS)).observe(took.as_secs_f64());
    }

    /// The registry in the Prometheus text format 0.0.4. `queue` is the send queue as read from
    /// the database for this scrape; `None` when it could not be read (then
    /// `plangraf_send_queue_up` is 0 and the queue's gauges are left out).
    pub fn render(&self, queue: Option<&[QueueDepth]>) -> String {
        let mut out = String::with_capacity(16 * 1024);
        let inner = &self.inner;

        family(&mut out, "plangraf_build_info", "gauge", "The running build: its version as a label; always 1.");
        sample(&mut out, "plangraf_build_info", &[("version", env!("CARGO_PKG_VERSION"))], 1);
        family(
            &mut out,
            "plangraf_process_start_time_seconds",
            "gauge",
            "When this instance started, in seconds since the Unix epoch.",
        );
        let started = inner.started.duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        sample(&mut out, "plangraf_process_start_time_seconds", &[], started);

        family(
            &mut out,
            "plangraf_send_queue_up",
            "gauge",
            "1 when the send queue could be read from the database for this scrape, 0 otherwise.",
        );
        sample(&mut out, "plangraf_send_queue_up", &[], u8::from(queue.is_some()));
        if let Some(queue) = queue {
            let of = |state: SendStatus| queue.iter().find(|q| q.state == state);
            family(
                &mut out,
                "plangraf_send_queue_depth",
                "gauge",
                "Sends the exchange still works on, by state (queued, processing in ЕИС, loaded and awaiting placement).",
            );
            for state in QUEUE_STATES {
                sample(
                    &mut out,
                    "plangraf_send_queue_depth",
                    &[("state", state.code())],
                    of(state).map_or(0, |q| q.count),
                );
            }
            family(
                &mut out,
                "plangraf_send_queue_oldest_seconds",
                "gauge",
                "Age of the oldest send in each state, since it was requested; 0 when there is none.",
            );
            for state in QUEUE_STATES {
                let age = of(state).and_then(|q| q.oldest).map_or(0.0, |d| d.as_secs_f64());
                sample(&mut out, "plangraf_send_queue_oldest_seconds", &[("state", state.code())], age);
            }
        }

        family(
            &mut out,
            "plangraf_send_outcomes_total",
            "counter",
            "Sends that reached a final state in this instance, by that state.",
        );
        for (i, state) in SendStatus::ALL.into_iter().enumerate() {
            if is_final(state) {
                let n = inner.send_outcomes[i].load(Ordering::Relaxed);
                sample(&mut out, "plangraf_send_outcomes_total", &[("state", state.code())], n);
            }
        }

        family(
            &mut out,
            "plangraf_eis_request_duration_seconds",
            "histogram",
            "Round trips of the HTTPS calls to ЕИС, by operation, failures included.",
        );
        for op in EisOperation::ALL {
            lock(&inner.eis[op.index()]).write(
                &mut out,
                "plangraf_eis_request_duration_seconds",
                &[("operation", op.code())],
            );
        }

        family(
            &mut out,
            "plangraf_http_request_duration_seconds",
            "histogram",
            "HTTP requests served, by route template, method and status class.",
        );
        let http = lock(&inner.http).clone();
        for ((route, method, class), h) in &http {
            h.write(
                &mut out,
                "plangraf_http_request_duration_seconds",
                &[("route", route), ("method", method), ("status_class", class)],
            );
        }

        family(&mut out, "plangraf_sign_in_failures_total", "counter", "Refused sign-ins (pages and API), by reason.");
        for (i, why) in SignInFailure::ALL.into_iter().enumerate() {
            let n = inner.sign_in_failures[i].load(Ordering::Relaxed);
            sample(&mut out, "plangraf_sign_in_failures_total", &[("reason", why.code())], n);
        }

        family(&mut out, "plangraf_notifications_sent_total", "counter", "Notifications delivered, by channel.");
        for (i, channel) in Channel::ALL.into_iter().enumerate() {
            let n = inner.notifications[i].load(Ordering::Relaxed);
            sample(&mut out, "plangraf_notifications_sent_total", &[("channel", channel.code())], n);
        }
        out
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {}", help.replace('\\', "\\\\").replace('\n', "\\n"));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"{}\"", escape(v));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

/// A label value as the text format wants it: backslash, double quote and line feed escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
        text.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no line {prefix}\n{text}"))
    }

    #[test]
    fn counters_count_what_they_name_and_only_that() {
        let m = Metrics::new();
        m.sign_in_failed(SignInFailure::WrongPassword);
        m.sign_in_failed(SignInFailure::WrongPassword);
        m.sign_in_failed(SignInFailure::Throttled);
        m.notification_sent(Channel::Email);
        m.send_ended(SendStatus::Published);
        m.send_ended(SendStatus::Rejected);
        m.send_ended(SendStatus::Rejected);
        // Not final: not counted, and no series for them.
        m.send_ended(SendStatus::Loaded);
        m.send_ended(SendStatus::Processing);
        let text = m.render(Some(&[]));
        assert_eq!(
            line(&text, "plangraf_sign_in_failures_total{reason=\"wrong_password\"}"),
            "plangraf_sign_in_failures_total{reason=\"wrong_password\"} 2"
        );
        assert!(text.contains("plangraf_sign_in_failures_total{reason=\"throttled\"} 1\n"));
        assert!(text.contains("plangraf_notifications_sent_total{channel=\"email\"} 1\n"));
        assert!(text.contains("plangraf_send_outcomes_total{state=\"published\"} 1\n"));
        assert!(text.contains("plangraf_send_outcomes_total{state=\"rejected\"} 2\n"));
        assert!(text.contains("plangraf_send_outcomes_total{state=\"gave_up\"} 0\n"));
        assert!(!text.contains("plangraf_send_outcomes_total{state=\"loaded\"}"));
        assert!(!text.contains("plangraf_send_outcomes_total{state=\"processing\"}"));
        // Clones count into the same registry.
        m.clone().sign_in_failed(SignInFailure::Throttled);
        assert!(m.render(None).contains("plangraf_sign_in_failures_total{reason=\"throttled\"} 2\n"));
    }

    #[test]
    fn histograms_are_cumulative_with_sum_and_count() {
        let m = Metrics::new();
        m.eis_call(EisOperation::Upload, Duration::from_millis(40));
        m.eis_call(EisOperation::Upload, Duration::from_millis(700));
        m.eis_call(EisOperation::Upload, Duration::from_secs(90));
        let text = m.render(None);
        let b = |le: &str| {
            let p = format!("plangraf_eis_request_duration_seconds_bucket{{operation=\"upload\",le=\"{le}\"}} ");
            line(&text, &p)[p.len()..].parse::<u64>().unwrap()
        };
        assert_eq!((b("0.05"), b("0.5"), b("1"), b("60"), b("+Inf")), (1, 1, 2, 2, 3));
        let sum: f64 = line(&text, "plangraf_eis_request_duration_seconds_sum{operation=\"upload\"}")
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!((sum - 90.74).abs() < 1e-9, "{sum}");
        assert!(text.contains("plangraf_eis_request_duration_seconds_count{operation=\"upload\"} 3\n"));
        assert!(text.contains("plangraf_eis_request_duration_seconds_count{operation=\"export\"} 0\n"));
    }

    #[test]
    fn http_labels_stay_bounded() {
        let m = Metrics::new();
        m.http_request(Some("/plans/{id}"), "GET", 200, Duration::from_millis(3));
        m.http_request(Some("/plans/{id}"), "BREW", 418, Duration::from_millis(3));
        m.http_request(None, "GET", 404, Duration::from_millis(1));
        for i in 0..(MAX_ROUTES + 50) {
            m.http_request(Some(&format!("/r{i}")), "GET", 200, Duration::ZERO);
        }
        let text = m.render(None);
        assert!(text.contains(
            "plangraf_http_request_duration_seconds_count{route=\"/plans/{id}\",method=\"GET\",status_class=\"2xx\"} 1\n"
        ));
        assert!(text.contains(
            "plangraf_http_request_duration_seconds_count{route=\"/plans/{id}\",method=\"other\",status_class=\"4xx\"} 1\n"
        ));
        let routes: std::collections::BTreeSet<&str> = text
            .lines()
            .filter(|l| l.starts_with("plangraf_http_request_duration_seconds_count{"))
            .filter_map(|l| l.split('"').nth(1))
            .collect();
        assert_eq!(routes.len(), MAX_ROUTES, "{routes:?}");
        assert!(text.contains(&format!(
            "plangraf_http_request_duration_seconds_count{{route=\"other\",method=\"GET\",status_class=\"2xx\"}} {}\n",
            MAX_ROUTES + 50 - (MAX_ROUTES - 2)
        )));
    }

    #[test]
    fn the_queue_is_rendered_when_read_and_marked_when_not() {
        let m = Metrics::new();
        let queue = [QueueDepth { state: SendStatus::Queued, count: 7, oldest: Some(Duration::from_secs(90)) }];
        let text = m.render(Some(&queue));
        assert!(text.contains("plangraf_send_queue_up 1\n"));
        assert!(text.contains("plangraf_send_queue_depth{state=\"queued\"} 7\n"));
        assert!(text.contains("plangraf_send_queue_depth{state=\"processing\"} 0\n"));
        assert!(text.contains("plangraf_send_queue_oldest_seconds{state=\"queued\"} 90\n"));
        let text = m.render(None);
        assert!(text.contains("plangraf_send_queue_up 0\n"));
        assert!(!text.contains("plangraf_send_queue_depth"));
    }

    #[test]
    fn every_family_has_help_and_type_before_its_samples() {
        let m = Metrics::new();
        m.http_request(Some("/a\"b\\c"), "GET", 200, Duration::ZERO);
        let text = m.render(Some(&[]));
        let mut typed = std::collections::BTreeSet::new();
        for l in text.lines() {
            if let Some(rest) = l.strip_prefix("# TYPE ") {
                typed.insert(rest.split(' ').next().unwrap().to_owned());
            } else if !l.starts_with('#') {
                let name = l.split(['{', ' ']).next().unwrap();
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s).filter(|b| typed.contains(*b)))
                    .unwrap_or(name);
                assert!(typed.contains(base), "{l}");
            }
        }
        assert!(text.contains("route=\"/a\\\"b\\\\c\""));
    }
}
