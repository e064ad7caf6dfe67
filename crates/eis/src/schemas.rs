//! Where the official ЕИС schemas (set 14.1) are, and validating a document against them for
//! tests. The schemas are never part of this repository: they are found through
//! `PLANGRAF_EIS_SCHEMAS` or beside the project in `../shared/fixtures/eis/xsd/14_1`.
//!
//! Validation runs in-process with [`crate::validate::SchemaSet`]; each schema file is compiled
//! once per process and shared by all tests.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::validate::{CompileError, SchemaIssue, SchemaSet, join_lines};

pub const ENV_VAR: &str = "PLANGRAF_EIS_SCHEMAS";
/// Root schema of packets (`tenderPlan2020`, `confirmation`, …).
pub const INTEGRATION_XSD: &str = "fcsIntegration.xsd";
/// Root schema of what ЕИС publishes (`export`).
pub const EXPORT_XSD: &str = "fcsExport.xsd";
/// Services authorized by a user's login and password (`errorInfoType`).
pub const HTTPS_API_XSD: &str = "docs-https-api.xsd";

/// The directory of the 14.1 set: `$PLANGRAF_EIS_SCHEMAS` when set, else the copy beside the
/// workspace. `None` when neither holds `fcsIntegration.xsd`.
pub fn locate() -> Option<PathBuf> {
    let candidate = match std::env::var_os(ENV_VAR) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/eis/xsd/14_1"),
    };
    candidate.join(INTEGRATION_XSD).is_file().then_some(candidate)
}

#[derive(Debug, thiserror::Error)]
pub enum ValidationError {
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// `output` is `issues`, one per line.
    #[error("document does not validate against {schema}:\n{output}")]
    Invalid { schema: String, output: String, issues: Vec<SchemaIssue> },
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// Validates `xml` against `schema` (a file of the set, e.g. [`INTEGRATION_XSD`]) in `dir`.
///
/// For [`HTTPS_API_XSD`] the document must be an `errorInfo`: that schema declares it only as
/// a local element of its responses, so a two-line schema (in a temp file) includes the
/// official one and declares `errorInfo` of the official `errorInfoType` globally.
pub fn validate(dir: &Path, schema: &str, xml: &str) -> Result<(), ValidationError> {
    let schema_path = dir.join(schema);
    let compiled = if schema == HTTPS_API_XSD {
        cached(&schema_path, || {
            let official =
                std::fs::canonicalize(&schema_path).map_err(|_| CompileError::NotFound(schema_path.clone()))?;
            let wrapper = temp_file(
                "xsd",
                &format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns="{ns}" targetNamespace="{ns}" elementFormDefault="unqualified">
  <xs:include schemaLocation="{loc}"/>
  <xs:element name="errorInfo" type="errorInfoType"/>
</xs:schema>
"#,
                    ns = crate::ns::HTTPS_API,
                    loc = official.display()
                ),
            )
            .map_err(|_| CompileError::NotFound(schema_path.clone()))?;
            // The wrapper is only read while compiling.
            SchemaSet::compile_file(&wrapper.0)
        })?
    } else {
        cached(&schema_path, || SchemaSet::compile_file(&schema_path))?
    };
    check(&compiled, &schema_path, xml)
}

/// Validates a document file against an arbitrary schema file.
pub fn validate_file(schema_path: &Path, doc: &Path) -> Result<(), ValidationError> {
    let xml = std::fs::read_to_string(doc)?;
    let compiled = cached(schema_path, || SchemaSet::compile_file(schema_path))?;
    check(&compiled, schema_path, &xml)
}

fn check(compiled: &SchemaSet, schema_path: &Path, xml: &str) -> Result<(), ValidationError> {
    compiled.validate(xml).map_err(|issues| ValidationError::Invalid {
        schema: schema_path.display().to_string(),
        output: join_lines(&issues),
        issues,
    })
}

/// Schemas compiled so far in this process, by the path asked for.
fn cached(
    key: &Path,
    compile: impl FnOnce() -> Result<SchemaSet, CompileError>,
) -> Result<Arc<SchemaSet>, CompileError> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<SchemaSet>>>> = OnceLock::new();
    // Compiling under the lock keeps concurrent tests from compiling the same set twice; a
    // panic elsewhere while holding it cannot leave the map half-updated, so poison is ignored.
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = cache.get(key) {
        return Ok(Arc::clone(s));
    }
    let compiled = Arc::new(compile()?);
    cache.insert(key.to_path_buf(), Arc::clone(&compiled));
    Ok(compiled)
}

/// A uniquely named file under the system temp dir, removed on drop.
struct TempDoc(PathBuf);

impl Drop for TempDoc {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn temp_file(ext: &str, content: &str) -> std::io::Result<TempDoc> {
    let path = std::env::temp_dir().join(format!("eis-doc-{}.{ext}", uuid::Uuid::new_v4()));
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
    let doc = TempDoc(path);
    file.write_all(content.as_bytes())?;
    file.flush()?;
    Ok(doc)
}

/// Prints `SKIPPED: {why}` straight to the process's stderr: the test harness captures
/// `eprintln!` of passing tests, and a skipped conformance check must not go unseen.
pub fn skipped(why: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}

/// For tests: validates against `schema`, or prints a loud `SKIPPED` line and
/// returns `false` when the schemas are not there. Panics with libxml2's report when invalid.
pub fn assert_valid_or_skip(what: &str, schema: &str, xml: &str) -> bool {
    let Some(dir) = locate() else {
        skipped(&format!("schema validation of {what}: ЕИС schemas not found (set {ENV_VAR} to the 14_1 directory)"));
        return false;
    };
    if let Err(e) = validate(&dir, schema, xml) {
        panic!("{what}: {e}\n--- document ---\n{xml}");
    }
    true
}
