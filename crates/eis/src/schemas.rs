//! Where the official ЕИС schemas (set 14.1) are, and validating a document against them with
//! `xmllint` (libxml2-utils). The schemas are never part of this repository: they are found
//! through `PLANGRAF_EIS_SCHEMAS` or beside the project in `../shared/fixtures/eis/xsd/14_1`.
//!
//! This is what the conformance tests use; validation inside the running program is not built
//! on it (it forks a process per document).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

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
    #[error("xmllint could not be run (install libxml2-utils): {0}")]
    Tool(std::io::Error),
    #[error("document does not validate against {schema}:\n{output}")]
    Invalid { schema: String, output: String },
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// Validates `xml` against `schema` (a file of the set, e.g. [`INTEGRATION_XSD`]) in `dir`.
///
/// For [`HTTPS_API_XSD`] the document must be an `errorInfo`: that schema declares it only as
/// a local element of its responses, so a two-line schema (in a temp file) includes the
/// official one and declares `errorInfo` of the official `errorInfoType` globally.
pub fn validate(dir: &Path, schema: &str, xml: &str) -> Result<(), ValidationError> {
    let doc = temp_file("xml", xml)?;
    let schema_path = dir.join(schema);
    if schema == HTTPS_API_XSD {
        let official = std::fs::canonicalize(&schema_path)?;
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
        )?;
        return validate_file(&wrapper.0, &doc.0);
    }
    validate_file(&schema_path, &doc.0)
}

/// Validates a document file against an arbitrary schema file.
pub fn validate_file(schema_path: &Path, doc: &Path) -> Result<(), ValidationError> {
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--nonet")
        .arg("--schema")
        .arg(schema_path)
        .arg(doc)
        .output()
        .map_err(ValidationError::Tool)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(ValidationError::Invalid {
            schema: schema_path.display().to_string(),
            output: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
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
/// returns `false` when the schemas are not there. Panics with xmllint's report when invalid.
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
