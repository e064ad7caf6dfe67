//! The pre-flight findings of a working copy, computed once per content stamp.
//!
//! plangraf's own rules (`domain::checks`) are computed on the request that first needs them
//! and kept in memory for that stamp. The schema check of the whole packet (tens of
//! milliseconds for a large plan) runs in the background: a view that finds no stored result
//! for the current stamp queues the plan and says the check is under way. One worker checks one
//! plan at a time; a plan queued again while waiting keeps one place in the queue and is checked
//! at the content it has when its turn comes, so the newest stamp wins; the queue is bounded and
//! a plan that finds it full is queued again by its next view. Results go to the database
//! (`plan_checks`), so every instance sees them. Approval, submission and sending never use
//! these results: they check the content they act on, synchronously.

use crate::{Readable, Result, Workflow};
use domain::Finding;
use domain::ids::{PlanId, PositionId};
use domain::plan::{ChangeMark, PlanSnapshot, Position};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use store::plans::Plan;
use tokio::sync::mpsc;

/// The stamp of a working copy's content: every change of the working copy (a position or the
/// header) moves `plans.content_version` forward, while a transition that leaves the content
/// alone (submit, return) keeps the findings already computed.
pub fn content_stamp(plan: &Plan) -> i64 {
    plan.content_version
}

/// Plans waiting for the schema check at most; beyond that a view queues its plan again later.
const QUEUE: usize = 256;
/// Plans whose rules findings are kept in memory.
const KEPT: usize = 512;
/// Parsed working-copy positions kept, over all plans (about a kilobyte each).
const KEPT_POSITIONS: usize = 50_000;

/// One plan's parsed positions: by id, the `row_version` read and the content.
type Parsed = HashMap<PositionId, (i64, Arc<Position>)>;

/// A working copy as read at a content stamp: every position written at or before `stamp`
/// is here as written.
struct KeptCopy {
    stamp: i64,
    positions: Parsed,
}

#[derive(Default)]
struct ParsedPositions {
    by_plan: HashMap<PlanId, Arc<KeptCopy>>,
    total: usize,
}

/// Where the schema check of the current content stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaCheck {
    /// Done for this content; its findings (if any) are among the findings.
    Done,
    /// Queued or running: «Проверка по схемам ЕИС выполняется…».
    Pending,
    /// Not run: plangraf's own rules failed first, or no schemas are configured.
    NotRun,
}

/// How a position of the working copy compares with the latest approved version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub mark: ChangeMark,
    /// The purchase is in the latest approved version.
    pub in_base: bool,
    pub canceled: bool,
}

/// What plangraf's own rules say of one content stamp: the findings and each position's mark
/// (the page filters by both).
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub findings: Arc<Vec<Finding>>,
    /// By purchase number.
    pub marks: HashMap<u16, Mark>,
}

impl Rules {
    pub fn of(snapshot: &PlanSnapshot, base: Option<&PlanSnapshot>) -> Rules {
        let base_index = base.map(PlanSnapshot::index);
        let marks = snapshot
            .positions
            .iter()
            .map(|p| {
                let before = base_index.as_ref().and_then(|b| b.get(p.purchase_number));
                let mark = Mark { mark: p.mark(before), in_base: before.is_some(), canceled: p.is_canceled() };
                (p.purchase_number.get(), mark)
            })
            .collect();
        Rules { findings: Arc::new(domain::preflight(snapshot, base)), marks }
    }

    /// The mark of a purchase number (new when unknown).
    pub fn mark(&self, number: u16) -> Mark {
        self.marks.get(&number).copied().unwrap_or(Mark { mark: ChangeMark::New, in_base: false, canceled: false })
    }
}

/// The findings of the working copy at one content stamp.
#[derive(Debug, Clone)]
pub struct Findings {
    pub stamp: i64,
    /// The rules' findings and marks of this stamp.
    pub rules: Arc<Rules>,
    /// What to show: the rules' findings, or once they pass, the schema check's.
    pub findings: Arc<Vec<Finding>>,
    pub schema: SchemaCheck,
}

/// Values computed from one content stamp of a plan, kept in memory by plan: a view of the same
/// stamp reads them instead of the database. A newer stamp replaces an older one, never the
/// other way round; past `capacity` plans the map is forgotten whole (crude but bounded).
pub(crate) struct StampCache<T> {
    kept: Mutex<HashMap<PlanId, (i64, Arc<T>)>>,
    capacity: usize,
}

impl<T> StampCache<T> {
    fn new() -> StampCache<T> {
        StampCache::with_capacity(KEPT)
    }

    fn with_capacity(capacity: usize) -> StampCache<T> {
        StampCache { kept: Mutex::new(HashMap::new()), capacity }
    }

    pub(crate) fn get(&self, plan_id: PlanId, stamp: i64) -> Option<Arc<T>> {
        lock(&self.kept).get(&plan_id).filter(|(s, _)| *s == stamp).map(|(_, v)| v.clone())
    }

    pub(crate) fn keep(&self, plan_id: PlanId, stamp: i64, value: T) -> Arc<T> {
        let value = Arc::new(value);
        let mut kept = lock(&self.kept);
        if kept.len() >= self.capacity && !kept.contains_key(&plan_id) {
            kept.clear();
        }
        if kept.get(&plan_id).is_none_or(|(s, _)| *s <= stamp) {
            kept.insert(plan_id, (stamp, value.clone()));
        }
        value
    }
}

/// What the plan page says of the whole working copy besides the findings, at one content
/// stamp (approval moves the stamp too, so the count of versions belongs here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanFacts {
    /// The count and sums of all positions.
    pub totals: store::plans::PositionTotals,
    pub version_count: i64,
    /// The largest purchase number in use (0 when none).
    pub max_number: i64,
}

impl PlanFacts {
    /// The facts of a working copy already read.
    fn of(snapshot: &PlanSnapshot, version_count: i64) -> Result<PlanFacts> {
        Ok(PlanFacts {
            totals: store::plans::PositionTotals::of(&snapshot.positions)?,
            version_count,
            max_number: snapshot.positions.iter().map(|p| i64::from(p.purchase_number.get())).max().unwrap_or(0),
        })
    }
}

/// The in-memory part: per content stamp the rules findings, the facts and the stored schema
/// check's findings (final for their stamp); and the schema check queue.
pub(crate) struct Checks {
    schemas: bool,
    rules: StampCache<Rules>,
    pub(crate) facts: StampCache<PlanFacts>,
    schema_done: StampCache<Vec<Finding>>,
    /// Parsed positions of working copies by id with their `row_version` (see
    /// [`Workflow::working_copy`]).
    parsed: Mutex<ParsedPositions>,
    /// How many times a view computed rules (the tests count them).
    computed: std::sync::atomic::AtomicU64,
    /// How many times the working copy was read by listing every position's version rather
    /// than only what was written since the kept copy (the tests count them).
    listed: std::sync::atomic::AtomicU64,
    /// Per plan, the turn to compute its rules (see [`Workflow::findings`]).
    gates: Mutex<HashMap<PlanId, Arc<tokio::sync::Mutex<()>>>>,
    queued: Mutex<HashSet<PlanId>>,
    sender: Mutex<Option<mpsc::Sender<PlanId>>>,
}

impl Checks {
    pub(crate) fn new(schemas: bool) -> Checks {
        Checks {
            schemas,
            rules: StampCache::new(),
            facts: StampCache::new(),
            schema_done: StampCache::new(),
            parsed: Mutex::new(ParsedPositions::default()),
            computed: std::sync::atomic::AtomicU64::new(0),
            listed: std::sync::atomic::AtomicU64::new(0),
            gates: Mutex::new(HashMap::new()),
            queued: Mutex::new(HashSet::new()),
            sender: Mutex::new(None),
        }
    }
}

impl Checks {
    /// The official schemas are configured (the background check runs).
    pub(crate) fn schemas_configured(&self) -> bool {
        self.schemas
    }

    /// Keeps a plan's parsed positions, within `KEPT_POSITIONS` over all plans (crude but
    /// bounded: past it everything is forgotten and read again).
    fn keep_parsed(&self, plan_id: PlanId, stamp: i64, parsed: Parsed) {
        let mut cache = lock(&self.parsed);
        let before = cache.by_plan.get(&plan_id).map_or(0, |p| p.positions.len());
        if cache.total - before + parsed.len() > KEPT_POSITIONS {
            cache.by_plan.clear();
            cache.total = 0;
        } else {
            cache.total -= before;
        }
        if parsed.len() <= KEPT_POSITIONS {
            cache.total += parsed.len();
            cache.by_plan.insert(plan_id, Arc::new(KeptCopy { stamp, positions: parsed }));
        }
    }

    fn kept_copy(&self, plan_id: PlanId) -> Option<Arc<KeptCopy>> {
        lock(&self.parsed).by_plan.get(&plan_id).cloned()
    }

    /// The value `cache` keeps for the plan at `stamp`, or computed by one caller while the
    /// others wait at the plan's gate and then read what it kept.
    pub(crate) async fn once_per_stamp<T, Fut>(
        &self,
        cache: &StampCache<T>,
        plan_id: PlanId,
        stamp: i64,
        compute: impl FnOnce() -> Fut,
    ) -> Result<Arc<T>>
    where
        Fut: std::future::Future<Output = Result<T>>,
    {
        if let Some(kept) = cache.get(plan_id, stamp) {
            return Ok(kept);
        }
        let gate = self.gate(plan_id);
        let _turn = gate.lock().await;
        if let Some(kept) = cache.get(plan_id, stamp) {
            return Ok(kept);
        }
        Ok(cache.keep(plan_id, stamp, compute().await?))
    }

    fn gate(&self, plan_id: PlanId) -> Arc<tokio::sync::Mutex<()>> {
        let mut gates = lock(&self.gates);
        if gates.len() >= KEPT && !gates.contains_key(&plan_id) {
            // Forgetting a gate someone holds costs at most one computation twice.
            gates.clear();
        }
        gates.entry(plan_id).or_default().clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves a plain map behind: still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Workflow {
    /// Tells whether the official schemas are configured (the exchange holds them); without
    /// them no schema check is queued or awaited.
    pub fn with_schemas(mut self, configured: bool) -> Workflow {
        self.checks = Arc::new(Checks::new(configured));
        self
    }

    /// How many times views have computed plangraf's own rules since start.
    pub fn rules_computed(&self) -> u64 {
        self.checks.computed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many times a working copy was read by listing every position's version (nothing
    /// kept, or a position deleted since) since start.
    pub fn working_copies_listed(&self) -> u64 {
        self.checks.listed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The findings of the working copy now: the rules (computed once per stamp) and, once they
    /// pass, the stored schema check of this very stamp — or `Pending`, with the check queued.
    pub async fn findings(&self, plan: &Readable) -> Result<Findings> {
        let stamp = content_stamp(plan.plan());
        let plan_id = plan.plan().id;
        // One view computes a new stamp; the views that arrive meanwhile (after an edit, every
        // open page at once) wait for it instead of reading the whole plan too.
        let rules = self
            .checks
            .once_per_stamp(&self.checks.rules, plan_id, stamp, || async {
                let snapshot = self.working_copy(plan.plan(), plan.owner()).await?;
                let base = self.latest_base(plan.plan()).await?;
                self.checks.computed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                // The page's facts come from the same content, not from summing rows.
                if self.checks.facts.get(plan_id, stamp).is_none() {
                    let facts = PlanFacts::of(&snapshot, self.store.version_count(plan_id).await?)?;
                    self.checks.facts.keep(plan_id, stamp, facts);
                }
                Ok(Rules::of(&snapshot, base.as_deref()))
            })
            .await?;
        self.with_schema_state(plan.plan().id, stamp, rules).await
    }

    async fn with_schema_state(&self, plan_id: PlanId, stamp: i64, rules: Arc<Rules>) -> Result<Findings> {
        let own = rules.findings.clone();
        if !rules.findings.is_empty() || !self.checks.schemas {
            return Ok(Findings { stamp, rules, findings: own, schema: SchemaCheck::NotRun });
        }
        if let Some(findings) = self.checks.schema_done.get(plan_id, stamp) {
            return Ok(Findings { stamp, rules, findings, schema: SchemaCheck::Done });
        }
        match self.store.plan_check(plan_id).await? {
            Some(done) if done.stamp == stamp => {
                let findings = done
                    .messages
                    .into_iter()
                    .map(|message| Finding { purchase_number: None, field: "packet", message })
                    .collect();
                let findings = self.checks.schema_done.keep(plan_id, stamp, findings);
                Ok(Findings { stamp, rules, findings, schema: SchemaCheck::Done })
            }
            _ => {
                self.queue_check(plan_id);
                Ok(Findings { stamp, rules, findings: own, schema: SchemaCheck::Pending })
            }
        }
    }

    /// The working copy as a version would record it now, reading only what changed since this
    /// instance last read the plan. Each position row records the content stamp of the write
    /// that last changed it, so after one position is saved the next read is that one row
    /// and the plan's count of positions, in one statement; a count that does not match means
    /// a position was deleted, and then the list of (id, `row_version`) of every position
    /// tells which kept ones still stand. An instance that kept nothing reads every position
    /// in one query. Views, the schema check, submission and approval all read through here;
    /// the content approval fixes cannot change while the plan is on approval (edits are
    /// refused in that state).
    pub(crate) async fn working_copy(&self, plan: &Plan, owner: &store::orgs::Organization) -> Result<PlanSnapshot> {
        let kept = self.checks.kept_copy(plan.id);
        let (stamp, parsed) = match &kept {
            Some(kept) => match self.written_since(plan.id, kept).await? {
                Some(found) => found,
                None => self.read_by_versions(plan, kept).await?,
            },
            None => self.read_all(plan).await?,
        };
        let mut positions: Vec<Position> = parsed.values().map(|(_, p)| (**p).clone()).collect();
        positions.sort_by_key(|p| p.purchase_number);
        self.checks.keep_parsed(plan.id, stamp, parsed);
        self.snapshot_of(plan, owner, positions).await
    }

    /// The kept copy with the positions written since its stamp, unless one was deleted (or
    /// the plan is gone): the stamp read and every position by id.
    async fn written_since(&self, plan_id: PlanId, kept: &KeptCopy) -> Result<Option<(i64, Parsed)>> {
        let Some(written) = self.store.positions_written_after(plan_id, kept.stamp).await? else {
            return Ok(None);
        };
        let mut parsed = kept.positions.clone();
        for fresh in written.positions {
            parsed.insert(fresh.id, (fresh.row_version, Arc::new(fresh.position)));
        }
        // Every position there is, is here; a kept one deleted since would make one more.
        Ok((i64::try_from(parsed.len()).ok() == Some(written.count)).then_some((written.stamp, parsed)))
    }

    /// Every position, read in one query when nothing is kept. The stamp returned is the
    /// plan's as the request read it, before this read: every write up to it is in it.
    async fn read_all(&self, plan: &Plan) -> Result<(i64, Parsed)> {
        let stamp = content_stamp(plan);
        self.checks.listed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let all = self.store.positions(plan.id).await?;
        Ok((stamp, all.into_iter().map(|p| (p.id, (p.row_version, Arc::new(p.position)))).collect()))
    }

    /// Every position's id and `row_version`, and the content of those not kept at that
    /// version. The stamp returned is the plan's as the request read it, before these reads:
    /// every write up to it is in what they return.
    async fn read_by_versions(&self, plan: &Plan, kept: &KeptCopy) -> Result<(i64, Parsed)> {
        let stamp = content_stamp(plan);
        self.checks.listed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let versions = self.store.position_versions(plan.id).await?;
        let mut parsed: Parsed = HashMap::with_capacity(versions.len());
        let mut stale = Vec::new();
        for (id, v) in &versions {
            match kept.positions.get(id).filter(|(k, _)| k == v) {
                Some(entry) => {
                    parsed.insert(*id, entry.clone());
                }
                None => stale.push(*id),
            }
        }
        // Most of them changed: one read of every position is cheaper than asking for
        // thousands by id (leaving out those added since the list was read).
        let fresh = if stale.len() > versions.len() / 2 {
            let listed: HashSet<PositionId> = versions.iter().map(|(id, _)| *id).collect();
            self.store.positions(plan.id).await?.into_iter().filter(|p| listed.contains(&p.id)).collect()
        } else {
            self.store.positions_by_ids(plan.id, &stale).await?
        };
        for fresh in fresh {
            parsed.insert(fresh.id, (fresh.row_version, Arc::new(fresh.position)));
        }
        Ok((stamp, parsed))
    }

    /// The latest approved version's content, what a change round is compared with: kept by
    /// the exchange, which builds change packets against the same one.
    pub(crate) async fn latest_base(&self, plan: &Plan) -> Result<Option<Arc<PlanSnapshot>>> {
        match self.store.latest_version_id(plan.id).await? {
            Some(id) => Ok(Some(self.exchange.version_content(id).await?)),
            None => Ok(None),
        }
    }

    /// Queues the plan's schema check unless it is queued already; starts the worker on first use.
    fn queue_check(&self, plan_id: PlanId) {
        if !lock(&self.checks.queued).insert(plan_id) {
            return;
        }
        let sender = {
            let mut sender = lock(&self.checks.sender);
            match &*sender {
                Some(s) if !s.is_closed() => s.clone(),
                _ => {
                    let (tx, rx) = mpsc::channel(QUEUE);
                    tokio::spawn(self.clone().check_worker(rx));
                    *sender = Some(tx.clone());
                    tx
                }
            }
        };
        if sender.try_send(plan_id).is_err() {
            // Full: the plan's next view queues it again.
            lock(&self.checks.queued).remove(&plan_id);
        }
    }

    async fn check_worker(self, mut rx: mpsc::Receiver<PlanId>) {
        while let Some(plan_id) = rx.recv().await {
            // From here on a new view queues the plan again, so an edit during the check is
            // checked after it.
            lock(&self.checks.queued).remove(&plan_id);
            if let Err(e) = self.schema_check(plan_id).await {
                tracing::warn!(plan_id = plan_id.get(), error = %e.chain(), "background schema check failed");
            }
        }
    }

    /// Checks the plan's current content against the schemas and stores the result for its
    /// stamp. Content that changes while it is read is not checked: its next view queues it.
    pub(crate) async fn schema_check(&self, plan_id: PlanId) -> Result<()> {
        let Some(plan) = self.store.plan(plan_id).await? else { return Ok(()) };
        let stamp = content_stamp(&plan);
        if self.store.plan_check(plan_id).await?.is_some_and(|c| c.stamp >= stamp) {
            return Ok(());
        }
        let Some(owner) = self.store.organization(plan.org_id).await? else { return Ok(()) };
        let snapshot = self.working_copy(&plan, &owner).await?;
        let base = self.latest_base(&plan).await?;
        match self.store.plan(plan_id).await? {
            Some(now) if content_stamp(&now) == stamp => {}
            _ => return Ok(()),
        }
        let rules = match self.checks.rules.get(plan_id, stamp) {
            Some(rules) => rules,
            None => self.checks.rules.keep(plan_id, stamp, Rules::of(&snapshot, base.as_deref())),
        };
        if !rules.findings.is_empty() {
            // The page shows the rules' findings; the packet of such content is not checked.
            return Ok(());
        }
        let messages = self.exchange.schema_findings(&plan, &snapshot).await?;
        self.store.save_plan_check(plan_id, stamp, &messages).await?;
        Ok(())
    }
}
