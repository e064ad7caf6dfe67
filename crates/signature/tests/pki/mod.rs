//! A test PKI made with the `openssl` command and the ГОСТ engine, as a УЦ makes it: root
//! certificates, users' certificates (ГОСТ Р 34.10-2012 keys, subjects with СНИЛС and ИНН),
//! revocation lists, and detached CMS signatures made the way the CryptoPro plug-in's
//! `SignCades(…, CADESCOM_CADES_BES, true)` makes them. Every `openssl` call is here.

use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `openssl` with `args` in `dir`. The engine is named with `-engine gost` where a command
/// takes it; the inherited `OPENSSL_CONF` is removed, since loading the engine twice fails.
pub fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .env_remove("OPENSSL_CONF")
        .output()
        .expect("the openssl command runs");
    assert!(out.status.success(), "openssl {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Whether the `openssl` command has the ГОСТ engine (it fails to load it otherwise).
pub fn cli_has_gost() -> bool {
    Command::new("openssl")
        .args(["engine", "gost", "-t"])
        .env_remove("OPENSSL_CONF")
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("available"))
}

/// The start of a test program with its own `main` (no libtest) that needs the ГОСТ engine:
/// OpenSSL loads it only from the configuration it reads at start, so the process starts itself
/// again with one, as `plangraf serve` does; then the engine and the `openssl` command are
/// checked. `false` when they are missing (SKIPPED is printed for `what`), or a panic when
/// PLANGRAF_REQUIRE_GOST=1, as in CI.
#[allow(dead_code, reason = "only the test programs with their own main start this way")]
pub fn start_with_engine(what: &str) -> bool {
    if let Err(e) = signature::engine::restart_with_engine() {
        panic!("could not restart with the engine's configuration: {e}");
    }
    let ready = signature::ensure_engine()
        .map_err(|e| e.to_string())
        .and_then(|()| if cli_has_gost() { Ok(()) } else { Err("the openssl command has no gost engine".into()) });
    match ready {
        Ok(()) => true,
        Err(e) if std::env::var("PLANGRAF_REQUIRE_GOST").as_deref() == Ok("1") => {
            panic!("PLANGRAF_REQUIRE_GOST=1, but the ГОСТ engine is missing: {e}")
        }
        Err(e) => {
            eprintln!("\n*** SKIPPED: {what}: {e}");
            eprintln!("*** install libengine-gost-openssl; set PLANGRAF_REQUIRE_GOST=1 to fail instead\n");
            false
        }
    }
}

/// `openssl ca`'s time format.
fn ca_time(t: DateTime<Utc>) -> String {
    t.format("%Y%m%d%H%M%SZ").to_string()
}

/// A УЦ: its key and self-signed root certificate, and `openssl ca`'s database, so that it can
/// issue certificates with chosen dates, revoke them and publish its revocation list.
pub struct Ca {
    pub dir: PathBuf,
    pub name: String,
}

impl Ca {
    pub fn new(parent: &Path, name: &str) -> Ca {
        let dir = parent.join(name);
        std::fs::create_dir_all(dir.join("issued")).unwrap();
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("crlnumber"), "01\n").unwrap();
        std::fs::write(
            dir.join("ca.cnf"),
            "[ca]\ndefault_ca = uc\n\
             [uc]\ndir = .\ndatabase = index.txt\nnew_certs_dir = issued\ncertificate = ca.crt\n\
             private_key = ca.key\nrand_serial = yes\ncrlnumber = crlnumber\n\
             default_md = md_gost12_256\ndefault_days = 365\ndefault_crl_days = 30\n\
             policy = any\nunique_subject = no\nutf8 = yes\nstring_mask = utf8only\n\
             [any]\ncommonName = supplied\n",
        )
        .unwrap();
        let ca = Ca { dir, name: name.to_string() };
        ca.run(&[
            "genpkey",
            "-engine",
            "gost",
            "-algorithm",
            "gost2012_256",
            "-pkeyopt",
            "paramset:A",
            "-out",
            "ca.key",
        ]);
        let subject = format!("/C=RU/O={name}/CN={name}");
        ca.run(&[
            "req",
            "-engine",
            "gost",
            "-x509",
            "-new",
            "-utf8",
            "-key",
            "ca.key",
            "-days",
            "3650",
            "-subj",
            &subject,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            "ca.crt",
        ]);
        ca
    }

    fn run(&self, args: &[&str]) -> Vec<u8> {
        openssl(&self.dir, args)
    }

    pub fn root_pem(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("ca.crt")).unwrap()
    }

    /// Issues a certificate for `subject` (an `openssl -subj` string) valid from `from` to
    /// `to`, with the key algorithm `algorithm` (`gost2012_256`, `gost2012_512`, or `ec` for a
    /// P-256 key) and the key usage `key_usage`.
    pub fn issue(&self, id: &str, spec: &Issue<'_>) -> User {
        let key = format!("{id}.key");
        let csr = format!("{id}.csr");
        let crt = format!("{id}.crt");
        let ext = format!("{id}.ext");
        match spec.algorithm {
            "ec" => self.run(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", &key]),
            gost => {
                self.run(&["genpkey", "-engine", "gost", "-algorithm", gost, "-pkeyopt", "paramset:A", "-out", &key])
            }
        };
        self.run(&["req", "-engine", "gost", "-new", "-utf8", "-key", &key, "-subj", spec.subject, "-out", &csr]);
        std::fs::write(
            self.dir.join(&ext),
            format!(
                "basicConstraints=CA:FALSE\nkeyUsage=critical,{}\nextendedKeyUsage=clientAuth,emailProtection\n\
                 subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
                spec.key_usage
            ),
        )
        .unwrap();
        let (from, to) = (ca_time(spec.from), ca_time(spec.to));
        self.run(&[
            "ca",
            "-engine",
            "gost",
            "-config",
            "ca.cnf",
            "-batch",
            "-notext",
            "-utf8",
            "-preserveDN",
            "-in",
            &csr,
            "-startdate",
            &from,
            "-enddate",
            &to,
            "-extfile",
            &ext,
            "-out",
            &crt,
        ]);
        User { dir: self.dir.clone(), key, crt }
    }

    /// Revokes `user`'s certificate in the database; [`Ca::crl`] then lists it.
    pub fn revoke(&self, user: &User) {
        self.run(&["ca", "-engine", "gost", "-config", "ca.cnf", "-revoke", &user.crt, "-crl_reason", "keyCompromise"]);
    }

    /// The УЦ's current revocation list, DER.
    pub fn crl(&self) -> Vec<u8> {
        self.run(&["ca", "-engine", "gost", "-config", "ca.cnf", "-gencrl", "-out", "crl.pem"]);
        self.run(&["crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der"]);
        std::fs::read(self.dir.join("crl.der")).unwrap()
    }
}

/// What [`Ca::issue`] makes.
pub struct Issue<'a> {
    pub subject: &'a str,
    pub algorithm: &'a str,
    pub key_usage: &'a str,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// A user's key and certificate, files in their УЦ's directory.
pub struct User {
    dir: PathBuf,
    key: String,
    crt: String,
}

impl User {
    /// The certificate's PEM file.
    pub fn certificate_path(&self) -> PathBuf {
        self.dir.join(&self.crt)
    }

    pub fn certificate_pem(&self) -> Vec<u8> {
        std::fs::read(self.dir.join(&self.crt)).unwrap()
    }

    pub fn certificate_der(&self) -> Vec<u8> {
        openssl(&self.dir, &["x509", "-in", &self.crt, "-outform", "DER"])
    }

    /// The SHA-1 fingerprint as the `openssl` command prints it, separators removed.
    pub fn fingerprint(&self) -> String {
        let out = openssl(&self.dir, &["x509", "-engine", "gost", "-in", &self.crt, "-noout", "-fingerprint", "-sha1"]);
        let text = String::from_utf8(out).unwrap();
        text.trim().rsplit('=').next().unwrap().replace(':', "")
    }

    /// A detached CMS signature of `content` as DER: binary (no MIME canonicalisation), with
    /// the signer's certificate, CAdES-BES's signingCertificateV2 included.
    pub fn sign_detached(&self, content: &[u8]) -> Vec<u8> {
        let name = format!("content-{}", uuid_like());
        std::fs::write(self.dir.join(&name), content).unwrap();
        openssl(
            &self.dir,
            &[
                "cms", "-sign", "-engine", "gost", "-binary", "-cades", "-in", &name, "-signer", &self.crt, "-inkey",
                &self.key, "-outform", "DER",
            ],
        )
    }
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed).to_string()
}
