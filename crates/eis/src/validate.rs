//! In-process validation against the official ЕИС XSD set with libxml2, the validator ЕИС's
//! own checks agree with.
//!
//! A [`SchemaSet`] is compiled once (about a third of a second for `fcsIntegration.xsd`) and
//! then shared: a compiled libxml2 schema is read-only, and every [`SchemaSet::validate`] call
//! parses into its own document and validates with its own validation context, so calls from
//! several threads at once are safe. Errors are collected per call through libxml2's
//! structured error callbacks into a collector owned by that call.
//!
//! Validation is CPU-bound (tens of milliseconds for a plan of thousands of positions); async
//! callers should run it on a blocking thread (`tokio::task::spawn_blocking`).

use std::ffi::{CStr, CString, c_int, c_void};
use std::fmt;
use std::path::{Path, PathBuf};
use std::ptr::{self, NonNull};
use std::sync::Once;

use crate::libxml_ffi as ffi;
use crate::schemas::{EXPORT_XSD, INTEGRATION_XSD};

/// Which root schema of the 14.1 set to compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Root {
    /// `fcsIntegration.xsd`: the packets plangraf sends and the confirmations it receives.
    Integration,
    /// `fcsExport.xsd`: what ЕИС publishes (`export/tenderPlan2020`, …).
    Export,
}

impl Root {
    pub fn file_name(self) -> &'static str {
        match self {
            Root::Integration => INTEGRATION_XSD,
            Root::Export => EXPORT_XSD,
        }
    }
}

/// One reason a document is not valid, as libxml2 reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaIssue {
    /// 1-based line in the document, when known.
    pub line: Option<u32>,
    /// Element path such as `/int:tenderPlan2020/int:data/tp:positions/tp:position[2]/…`, when
    /// the issue is about a node of the parsed tree (elements in a default namespace show as `*`).
    pub path: Option<String>,
    /// libxml2's message as is (English).
    pub message: String,
}

impl SchemaIssue {
    fn general(message: impl Into<String>) -> Self {
        SchemaIssue { line: None, path: None, message: message.into() }
    }

    /// A line for people: where, in Russian, followed by libxml2's own message.
    pub fn to_string_ru(&self) -> String {
        let mut s = String::new();
        if let Some(line) = self.line {
            s.push_str(&format!("Строка {line}"));
        }
        if let Some(path) = &self.path {
            if !s.is_empty() {
                s.push_str(", ");
            }
            s.push_str(&format!("элемент {path}"));
        }
        if s.is_empty() {
            s.push_str("Документ");
        }
        format!("{s} — ошибка проверки по схеме ЕИС: {}", self.message)
    }
}

impl fmt::Display for SchemaIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if let Some(path) = &self.path {
            write!(f, "{path}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Why a schema could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("schema file {} not found", .0.display())]
    NotFound(PathBuf),
    #[error("schema path {} is not UTF-8 or contains a NUL byte", .0.display())]
    BadPath(PathBuf),
    #[error("schema {} does not compile:\n{}", .path.display(), join_lines(.issues))]
    Invalid { path: PathBuf, issues: Vec<SchemaIssue> },
}

/// Issues joined one per line, for error texts and test failures.
pub fn join_lines(issues: &[SchemaIssue]) -> String {
    issues.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

/// A compiled root schema of the ЕИС set, shareable between threads.
/// How many validations run at once in the process: about one per core. libxml2 builds the
/// whole document tree (several times the packet's size) for each, so a burst of big packets
/// waits here, on its blocking thread, instead of taking memory all at once.
struct ValidationSlots {
    free: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
}

struct Slot(&'static ValidationSlots);

impl ValidationSlots {
    fn shared() -> &'static ValidationSlots {
        static SLOTS: std::sync::OnceLock<ValidationSlots> = std::sync::OnceLock::new();
        SLOTS.get_or_init(|| ValidationSlots {
            free: std::sync::Mutex::new(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)),
            freed: std::sync::Condvar::new(),
        })
    }

    fn take(&'static self) -> Slot {
        let mut free = self.free.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
        self.0.freed.notify_one();
    }
}

pub struct SchemaSet {
    schema: NonNull<ffi::xmlSchema>,
    path: PathBuf,
}

// SAFETY: the compiled xmlSchema is never mutated after xmlSchemaParse returns; libxml2
// documents that one compiled schema may be used by several validation contexts in different
// threads at once. Each `validate` call creates its own document, validation context and error
// collector, and the only thread-affine state touched (the structured error handler) is
// libxml2's per-thread global state, set and reset within the call on the calling thread.
unsafe impl Send for SchemaSet {}
// SAFETY: see `Send`; `&SchemaSet` only gives access to `validate`, which never mutates the schema.
unsafe impl Sync for SchemaSet {}

impl fmt::Debug for SchemaSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchemaSet").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Drop for SchemaSet {
    fn drop(&mut self) {
        // SAFETY: the pointer came from xmlSchemaParse, is owned by this value alone, and no
        // validation can be running: they all borrow `self`.
        unsafe { ffi::xmlSchemaFree(self.schema.as_ptr()) }
    }
}

/// Parser options for documents: never fetch anything over the network, keep entity
/// references unexpanded (no XML_PARSE_NOENT, no XML_PARSE_DTDLOAD, no XML_PARSE_HUGE, so
/// libxml2's amplification limits stay on), keep line numbers past 65535 (big plans), and
/// store short texts inside their nodes (fewer allocations; xmllint and lxml do the same).
const DOC_OPTIONS: c_int = ffi::XML_PARSE_NONET | ffi::XML_PARSE_BIG_LINES | ffi::XML_PARSE_COMPACT;

/// A broken plan can yield an issue per element; past this many the rest are only counted.
const MAX_ISSUES: usize = 500;

impl SchemaSet {
    /// Compiles `root` of the set in `dir` (the `14_1` directory, see [`crate::schemas::locate`]).
    pub fn compile(dir: &Path, root: Root) -> Result<SchemaSet, CompileError> {
        Self::compile_file(&dir.join(root.file_name()))
    }

    /// Compiles an arbitrary schema file; `xs:include`/`xs:import` locations are resolved
    /// relative to it.
    pub fn compile_file(xsd: &Path) -> Result<SchemaSet, CompileError> {
        init();
        if !xsd.is_file() {
            return Err(CompileError::NotFound(xsd.to_path_buf()));
        }
        let c_path =
            xsd.to_str().and_then(|s| CString::new(s).ok()).ok_or_else(|| CompileError::BadPath(xsd.to_path_buf()))?;
        let mut collector = Collector::default();
        let ctx: *mut Collector = &mut collector;
        let schema = {
            // Errors of reading the schema documents themselves go to the thread's handler.
            let _handler = ThreadErrorHandler::install(ctx);
            // SAFETY: c_path is a valid NUL-terminated string that outlives the call.
            let pctxt = unsafe { ffi::xmlSchemaNewParserCtxt(c_path.as_ptr()) };
            if pctxt.is_null() {
                ptr::null_mut()
            } else {
                // SAFETY: pctxt is a live parser context; `ctx` points to `collector`, which
                // outlives the context (freed just below) and is not otherwise touched meanwhile.
                unsafe {
                    ffi::xmlSchemaSetParserStructuredErrors(pctxt, Some(collect), ctx.cast());
                    let schema = ffi::xmlSchemaParse(pctxt);
                    ffi::xmlSchemaFreeParserCtxt(pctxt);
                    schema
                }
            }
        };
        match NonNull::new(schema) {
            Some(schema) => Ok(SchemaSet { schema, path: xsd.to_path_buf() }),
            None => {
                let mut issues = collector.finish();
                if issues.is_empty() {
                    issues.push(SchemaIssue::general("libxml2 could not compile the schema"));
                }
                Err(CompileError::Invalid { path: xsd.to_path_buf(), issues })
            }
        }
    }

    /// The schema file this set was compiled from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Parses `xml` and validates it. `Err` holds at least one issue: well-formedness errors
    /// or schema violations, each with a line when libxml2 knows it.
    ///
    /// The document is first held to [`crate::bounds::PACKET`] (size and depth, without
    /// building anything), so libxml2 never parses a document the readers would refuse.
    pub fn validate(&self, xml: &str) -> Result<(), Vec<SchemaIssue>> {
        if let Err(e) = crate::bounds::check(xml, &crate::bounds::PACKET) {
            return Err(vec![SchemaIssue::general(e.to_string())]);
        }
        let Ok(size) = c_int::try_from(xml.len()) else {
            return Err(vec![SchemaIssue::general(format!("document too large for libxml2: {} bytes", xml.len()))]);
        };
        let _slot = ValidationSlots::shared().take();
        let mut collector = Collector::default();
        let ctx: *mut Collector = &mut collector;
        let rc = {
            // Parse errors go to the thread's structured handler (a per-call one cannot be
            // given to xmlReadMemory); the guard restores the previous one on every exit.
            let _handler = ThreadErrorHandler::install(ctx);
            let encoding = if declares_utf8(xml) { ptr::null() } else { c"UTF-8".as_ptr() };
            // SAFETY: the buffer is valid for `size` bytes for the duration of the call; the
            // URL is null and the encoding null or a static C string.
            let doc = unsafe { ffi::xmlReadMemory(xml.as_ptr().cast(), size, ptr::null(), encoding, DOC_OPTIONS) };
            match NonNull::new(doc).map(Doc) {
                None => None,
                // SAFETY: the schema lives as long as `self`; the document is owned by `doc`
                // and outlives the validation; `ctx` points to `collector`, which outlives the
                // validation context (freed by `ValidCtxt`'s drop before this block ends).
                Some(doc) => unsafe {
                    match NonNull::new(ffi::xmlSchemaNewValidCtxt(self.schema.as_ptr())).map(ValidCtxt) {
                        None => Some(-1),
                        Some(vctxt) => {
                            ffi::xmlSchemaSetValidStructuredErrors(vctxt.0.as_ptr(), Some(collect), ctx.cast());
                            Some(ffi::xmlSchemaValidateDoc(vctxt.0.as_ptr(), doc.0.as_ptr()))
                        }
                    }
                },
            }
        };
        let saw_error = collector.saw_error;
        let mut issues = collector.finish();
        match rc {
            Some(0) if !saw_error => Ok(()),
            rc => {
                if issues.is_empty() {
                    issues.push(SchemaIssue::general(match rc {
                        None => "libxml2 could not parse the document".to_owned(),
                        Some(rc) => format!("libxml2 validation failed (code {rc})"),
                    }));
                }
                Err(issues)
            }
        }
    }
}

/// Whether libxml2 will read `xml` as UTF-8 by itself: no declaration, or one without an
/// encoding or with UTF-8. Otherwise UTF-8 must be forced (a &str is UTF-8 whatever it
/// declares); forcing it always would send every byte through libxml2's UTF-8 → UTF-8
/// converter, a noticeable cost on big plans.
fn declares_utf8(xml: &str) -> bool {
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    let Some(decl) = xml.strip_prefix("<?xml") else { return true };
    let decl = decl.split("?>").next().unwrap_or(decl);
    let Some((_, rest)) = decl.split_once("encoding") else { return true };
    let value = rest.trim_start().strip_prefix('=').map(str::trim_start).unwrap_or("");
    let mut chars = value.chars();
    let value = match chars.next() {
        Some(q @ ('"' | '\'')) => chars.as_str().split(q).next().unwrap_or(""),
        _ => return false,
    };
    value.eq_ignore_ascii_case("UTF-8") || value.eq_ignore_ascii_case("UTF8")
}

static INIT: Once = Once::new();

/// libxml2 wants xmlInitParser before any use from several threads, and its XSD type tables
/// are built lazily by the first xmlSchemaParse without a lock: both are done once, here.
fn init() {
    // SAFETY: neither function has preconditions; Once runs them exactly once per process,
    // before any schema is compiled.
    INIT.call_once(|| unsafe {
        ffi::xmlInitParser();
        ffi::xmlSchemaInitTypes();
    });
}

struct Doc(NonNull<ffi::xmlDoc>);

impl Drop for Doc {
    fn drop(&mut self) {
        // SAFETY: the document came from xmlReadMemory and is owned by this value alone.
        unsafe { ffi::xmlFreeDoc(self.0.as_ptr()) }
    }
}

struct ValidCtxt(NonNull<ffi::xmlSchemaValidCtxt>);

impl Drop for ValidCtxt {
    fn drop(&mut self) {
        // SAFETY: the context came from xmlSchemaNewValidCtxt and is owned by this value alone.
        unsafe { ffi::xmlSchemaFreeValidCtxt(self.0.as_ptr()) }
    }
}

/// Routes libxml2's errors raised on this thread to a collector while alive, then puts back
/// whatever handler the thread had (another library in the process may have set one).
struct ThreadErrorHandler {
    previous: ffi::xmlStructuredErrorFunc,
    previous_ctx: *mut c_void,
}

impl ThreadErrorHandler {
    fn install(ctx: *mut Collector) -> Self {
        // SAFETY: the accessors return pointers to this thread's handler slots, valid for the
        // thread's life; they are only read here. Setting touches this thread's handler only;
        // `collect` accepts `ctx`, which the caller keeps alive until the guard is dropped.
        unsafe {
            let previous = *ffi::__xmlStructuredError();
            let previous_ctx = *ffi::__xmlStructuredErrorContext();
            ffi::xmlSetStructuredErrorFunc(ctx.cast(), Some(collect));
            ThreadErrorHandler { previous, previous_ctx }
        }
    }
}

impl Drop for ThreadErrorHandler {
    fn drop(&mut self) {
        // SAFETY: restores exactly what this thread had before `install`.
        unsafe { ffi::xmlSetStructuredErrorFunc(self.previous_ctx, self.previous) }
    }
}

#[derive(Default)]
struct Collector {
    issues: Vec<SchemaIssue>,
    dropped: usize,
    saw_error: bool,
}

impl Collector {
    fn finish(mut self) -> Vec<SchemaIssue> {
        if self.dropped > 0 {
            self.issues.push(SchemaIssue::general(format!("… and {} more issues not shown", self.dropped)));
        }
        self.issues
    }
}

/// The structured error callback. Must not unwind (it is called from C): nothing here panics.
unsafe extern "C" fn collect(user: *mut c_void, error: *mut ffi::xmlError) {
    if user.is_null() || error.is_null() {
        return;
    }
    // SAFETY: `user` is always the `*mut Collector` registered together with this callback,
    // alive and not otherwise accessed while libxml2 runs; `error` points to libxml2's error
    // record, valid for the duration of the callback.
    let (collector, error) = unsafe { (&mut *user.cast::<Collector>(), &*error) };
    // Warnings (e.g. an unused import in the schema) do not make a document invalid.
    if error.level <= ffi::XML_ERR_WARNING {
        return;
    }
    collector.saw_error = true;
    if collector.issues.len() >= MAX_ISSUES {
        collector.dropped += 1;
        return;
    }
    let message = if error.message.is_null() {
        format!("libxml2 error {} (domain {})", error.code, error.domain)
    } else {
        // SAFETY: a non-null message is a NUL-terminated string owned by libxml2.
        unsafe { CStr::from_ptr(error.message) }.to_string_lossy().trim_end().to_owned()
    };
    let line = u32::try_from(error.line).ok().filter(|&l| l > 0);
    // SAFETY: a non-null `node` is a node of the tree being validated (or of the schema being
    // parsed), alive during the callback.
    let path = unsafe { node_path(error.node.cast()) };
    collector.issues.push(SchemaIssue { line, path, message });
}

/// # Safety
/// `node` is null or a live libxml2 node.
unsafe fn node_path(node: *const ffi::xmlNode) -> Option<String> {
    if node.is_null() {
        return None;
    }
    // SAFETY: the caller guarantees the node is live; the returned string is NUL-terminated,
    // copied, then released with the deallocator libxml2 allocated it with.
    unsafe {
        let raw = ffi::xmlGetNodePath(node);
        if raw.is_null() {
            return None;
        }
        let path = CStr::from_ptr(raw.cast()).to_string_lossy().into_owned();
        if let Some(free) = ffi::xmlFree {
            free(raw.cast());
        }
        Some(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    unsafe extern "C" fn other_handler(_: *mut c_void, _: *mut ffi::xmlError) {}

    fn current_handler() -> (ffi::xmlStructuredErrorFunc, *mut c_void) {
        // SAFETY: reads this thread's handler slots.
        unsafe { (*ffi::__xmlStructuredError(), *ffi::__xmlStructuredErrorContext()) }
    }

    #[test]
    fn the_threads_previous_error_handler_is_restored() {
        let dir = tempfile::tempdir().expect("temp dir");
        let xsd = dir.path().join("a.xsd");
        std::fs::write(
            &xsd,
            r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="a" type="xs:int"/></xs:schema>"#,
        )
        .expect("schema written");
        let marker = 0x5a5a_usize as *mut c_void;
        // SAFETY: sets this test thread's handler to one that ignores everything.
        unsafe { ffi::xmlSetStructuredErrorFunc(marker, Some(other_handler)) };
        let set = SchemaSet::compile_file(&xsd).expect("compiles");
        assert_eq!(current_handler().1, marker);
        assert!(set.validate("<a>1</a>").is_ok());
        assert!(set.validate("<a>x</a>").is_err());
        assert!(set.validate("<a>").is_err());
        let (handler, ctx) = current_handler();
        assert_eq!(ctx, marker);
        assert!(handler.is_some_and(|h| std::ptr::fn_addr_eq(
            h,
            other_handler as unsafe extern "C" fn(*mut c_void, *mut ffi::xmlError)
        )));
        // SAFETY: back to libxml2's default for this thread.
        unsafe { ffi::xmlSetStructuredErrorFunc(ptr::null_mut(), None) };
    }

    #[test]
    fn validation_is_bounded_before_libxml2_parses() {
        let dir = tempfile::tempdir().expect("temp dir");
        let xsd = dir.path().join("a.xsd");
        std::fs::write(
            &xsd,
            r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="a"/></xs:schema>"#,
        )
        .expect("schema written");
        let set = SchemaSet::compile_file(&xsd).expect("compiles");
        let levels = crate::bounds::MAX_DEPTH;
        assert!(set.validate(&format!("{}{}", "<a>".repeat(levels), "</a>".repeat(levels))).is_ok());
        let deep = format!("{}{}", "<a>".repeat(levels + 1), "</a>".repeat(levels + 1));
        let issues = set.validate(&deep).expect_err("too deep");
        assert!(issues[0].message.contains("nested deeper than 64"), "{issues:?}");
    }

    #[test]
    fn utf8_declarations() {
        assert!(declares_utf8("<a/>"));
        assert!(declares_utf8("<?xml version=\"1.0\"?><a/>"));
        assert!(declares_utf8("<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/>"));
        assert!(declares_utf8("\u{feff}<?xml version='1.0' encoding = 'utf-8' standalone='yes'?><a/>"));
        assert!(!declares_utf8("<?xml version=\"1.0\" encoding=\"windows-1251\"?><a/>"));
        assert!(!declares_utf8("<?xml version=\"1.0\" encoding=UTF-8?><a/>"));
    }
}
