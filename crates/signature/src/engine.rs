//! The ГОСТ engine of OpenSSL 3 (`libengine-gost-openssl`), loaded by OpenSSL's configuration.
//!
//! The `openssl` crate has no ENGINE API, and Debian's `gostprov` provider has no ГОСТ Р
//! 34.10-2012 keys or signatures, so the engine comes in the one documented way left: the
//! configuration OpenSSL reads once, when it is initialised in the process, from the file named
//! by `OPENSSL_CONF` (config(5), «Engine Configuration»). Setting that variable from inside a
//! running process would race every other thread reading the environment (`set_var` is unsafe
//! in Rust 2024), so it is never done here: a process either starts with `OPENSSL_CONF` set, or
//! replaces itself with a copy of itself that has it ([`restart_with_engine`]) before any
//! OpenSSL call. Whether the engine really works is probed, not assumed ([`ensure_engine`]).

use crate::SignatureError;
use openssl::pkey::{Id, PKey};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The configuration that loads the `gost` engine and makes it the default for its
/// algorithms. No path: OpenSSL finds `gost.so` in its own engines directory, wherever the
/// distribution put it.
pub const ENGINE_CONFIG: &str = "\
# Loads the ГОСТ engine (libengine-gost-openssl) for plangraf's signature checks.
openssl_conf = openssl_init

[openssl_init]
engines = engine_section

[engine_section]
gost = gost_section

[gost_section]
engine_id = gost
default_algorithms = ALL
";

/// The variable OpenSSL reads its configuration file's name from.
pub const OPENSSL_CONF: &str = "OPENSSL_CONF";
/// Set by [`restart_with_engine`] to the file it wrote, so that the restarted process removes
/// that file (and no other) once OpenSSL has read it.
const WRITTEN: &str = "PLANGRAF_GOST_CONF_WRITTEN";

/// A ГОСТ Р 34.10-2012 (256) public key: it decodes only when the engine is loaded.
const PROBE_KEY: &str = "-----BEGIN PUBLIC KEY-----
MGYwHwYIKoUDBwEBAQEwEwYHKoUDAgIjAQYIKoUDBwEBAgIDQwAEQF9SMQR5LlR5
7faMmD5BdJAWGsfRbD+zPEotrma5icmAsJOPTaAMOQM5+i5GmiN/UYDuC6fD3GCs
GtSk2XzdeVI=
-----END PUBLIC KEY-----
";

/// `Ok` when OpenSSL in this process decodes ГОСТ keys, that is when the engine is installed
/// and was loaded by the configuration; otherwise [`SignatureError::EngineUnavailable`]. The
/// answer cannot change within a process (the configuration is read once), so it is kept.
pub fn ensure_engine() -> Result<(), SignatureError> {
    static WORKS: OnceLock<bool> = OnceLock::new();
    let works = *WORKS.get_or_init(|| {
        let works =
            PKey::public_key_from_pem(PROBE_KEY.as_bytes()).is_ok_and(|key| key.id() == Id::from_raw(GOST_2012_256));
        // OpenSSL is initialised now and never reads its configuration again.
        remove_written_config();
        works
    });
    if works { Ok(()) } else { Err(SignatureError::EngineUnavailable) }
}

// OpenSSL's NID_id_GostR3410_2012_256 and _512 (obj_mac.h); openssl-sys does not name them.
pub(crate) const GOST_2012_256: i32 = 979;
pub(crate) const GOST_2012_512: i32 = 980;

/// Writes [`ENGINE_CONFIG`] into a new private directory (mode 0700, a name nobody can guess,
/// so no one else can put an engine of their own in its place) and answers the file's path. The
/// directory is kept: the process that reads it may be another one.
pub fn write_engine_config() -> std::io::Result<PathBuf> {
    let dir = tempfile::Builder::new().prefix("plangraf-gost-").tempdir()?.keep();
    let path = dir.join("openssl-gost.cnf");
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
    file.write_all(ENGINE_CONFIG.as_bytes())?;
    Ok(path)
}

/// When `OPENSSL_CONF` is not set, replaces this process with the same program and arguments,
/// its environment plus `OPENSSL_CONF` naming a fresh [`write_engine_config`] file, and does not
/// return. `exec` starts a new process image, so no thread of this one can have read the
/// environment or initialised OpenSSL in it. Answers `Ok(())` at once when the variable is set
/// (the operator's own configuration, or the copy already restarted), or the error that kept
/// the restart from happening.
pub fn restart_with_engine() -> std::io::Result<()> {
    if std::env::var_os(OPENSSL_CONF).is_some() {
        // OpenSSL reads its configuration now; a file written for this process is not needed
        // after that, whether or not the command goes on to use the engine.
        openssl::init();
        remove_written_config();
        return Ok(());
    }
    let config = write_engine_config()?;
    let program = std::env::current_exe()?;
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    Err(exec_with_config(&program, &args, &config))
}

fn remove_written_config() {
    let (Some(written), Some(conf)) = (std::env::var_os(WRITTEN), std::env::var_os(OPENSSL_CONF)) else { return };
    if written == conf {
        let path = PathBuf::from(conf);
        let _ = std::fs::remove_file(&path);
        if let Some(dir) = path.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

#[cfg(unix)]
fn exec_with_config(program: &Path, args: &[OsString], config: &Path) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    std::process::Command::new(program).args(args).env(OPENSSL_CONF, config).env(WRITTEN, config).exec()
}

#[cfg(not(unix))]
fn exec_with_config(_program: &Path, _args: &[OsString], _config: &Path) -> std::io::Error {
    std::io::Error::other("set OPENSSL_CONF to a configuration that loads the gost engine")
}
